"""The benchmarks stay runnable (they never run in the test suite: speed targets live
in bench/, measured side by side): their command lines parse, and the connectors they
serve pass the registry's checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from framework.loading import check_config
from framework.plugins import load_registry, make_plugin_manager
from tests.conftest import ROOT


@pytest.mark.parametrize("script", ["gateway.py", "queue_throughput.py"])
def test_bench_script_help(script: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--help"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout


def test_bench_connectors_register() -> None:
    from bench import gateway_connector, queue_connector

    registry = load_registry(make_plugin_manager(plugins=[gateway_connector, queue_connector], entry_points=False))
    assert {"bench_echo", "bench_queue"} <= set(registry)


@pytest.mark.parametrize("slow_concurrency", [0, 64])
def test_the_bulkhead_bench_territory_passes_the_gate(tmp_path: Path, slow_concurrency: int) -> None:
    """bench/bulkhead.py serves a territory it writes: the gate must accept it (a bound
    added to a setting once made the bench exit before measuring anything)."""
    from bench import bulkhead, gateway_connector

    path = bulkhead.config("http://127.0.0.1:9", tmp_path, slow_concurrency)
    pm = make_plugin_manager(plugins=[gateway_connector], entry_points=False)
    territory, report, _ = check_config(str(path), pm)
    assert territory is not None and not report.errors, [str(e) for e in report.errors]
