"""`raccord serve` on an invalid file, and `kill -HUP` after good and broken edits."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.framework.serve.harness import (
    RACCORD,
    Serve,
    background_of,
    business,
    children_of,
    cmdline,
    env_for,
    wait_for,
    write_config,
)

BROKEN = """
[instances.zzz]
name = "Broken"
profiles = ["nope"]
kind = 12
"""


def backgrounds(serve: Serve) -> list[int]:
    return [p for p in children_of(serve.proc.pid) if "background_main" in cmdline(p)]


def test_serve_on_an_invalid_file_prints_the_errors_once_in_line_order_and_exits_1(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    config.write_text(config.read_text() + BROKEN + '\n[territory2]\nx = 1\n', encoding="utf-8")
    done = subprocess.run([RACCORD, "--config", str(config), "serve", "--port", "0"], cwd=tmp_path,
                          env=env_for(f"sqlite:///{tmp_path / 'db.sqlite3'}"), capture_output=True, text=True,
                          timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "gateway on" not in out and "Traceback" not in out and "background process" not in out
    errors = [line for line in out.splitlines() if "instances.toml:" in line]
    assert errors, out
    assert len(errors) == len(set(errors))  # once each
    lines = [int(e.split("instances.toml:", 1)[1].split(":", 1)[0]) for e in errors]
    assert lines == sorted(lines)
    assert not (tmp_path / "db.sqlite3").exists()  # nothing started, not even the database


def test_hup_with_a_broken_file_keeps_serving_and_a_good_edit_reloads_every_role(tmp_path: Path) -> None:
    with business() as shop:
        config = write_config(tmp_path, shop.url)
        good = config.read_text()
        serve = Serve(config, f"sqlite:///{tmp_path / 'db.sqlite3'}")
        try:
            assert "raccord gateway on http://127.0.0.1:" in serve.text()
            background = background_of(serve.proc.pid)
            config.write_text(good + BROKEN, encoding="utf-8")
            serve.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload refused" in serve.text(), 20, serve.text)
            refused = [line for line in serve.text().splitlines() if "reload refused" in line]
            assert any("instances.zzz" in line for line in refused), refused
            assert serve.proc.poll() is None and "Worker failed to boot" not in serve.text()
            assert serve.get("/metz/").status_code == 200 and serve.get("/zzz/").status_code == 404
            assert serve.ready() and background_of(serve.proc.pid) == background

            # A good edit: a new instance, served by new gateway workers and new background roles.
            write_config(tmp_path, shop.url, ("metz", "woippy", "marly"))
            serve.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: serve.get("/marly/").status_code == 200, 30, serve.text)
            wait_for(lambda: backgrounds(serve) not in ([], [background]), 30, serve.text)
            wait_for(serve.ready, 30, serve.text)
            assert serve.push("marly-1", instance="marly").status_code == 202
            wait_for(lambda: shop.pushes()["marly-1"] == 1, 20, serve.text)  # the new workers know marly
            assert "died" not in serve.text()  # a reload is not counted as a crash
        finally:
            serve.stop()
