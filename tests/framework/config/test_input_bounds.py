"""Configuration that points at the wrong thing (issue #10, input bounds): a clear
``check`` error at its line, never a hang, a traceback or unbounded growth — and
``serve`` refuses what ``check`` refuses (the same gate)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from framework.config.model import MAX_SECRET_BYTES
from framework.config.names import RESERVED_INSTANCE_NAMES, RESERVED_PROFILE_NAMES
from framework.config.nesting import MAX_NESTING
from framework.errors import ConfigError
from framework.gateway import app as gateway_app
from framework.gateway import routes, status_page
from framework.gateway.server import load_checked
from framework.testing import check_text

SECRET = "s3cr3t-VALUE-never-shown"

TERRITORY = textwrap.dedent('''\
    [territory]
    name = "Bounds"

    [profiles.{profile}]
    connector = "csv_datasource"
    settings = {{ path = "communes.csv", id_column = "insee", text_column = "name" }}

    [instances.{instance}]
    name = "Metz"
    profiles = ["{profile}"]

    [instances.{instance}.clients.wcs]
    apikey = {{ file = "{secret}" }}
''')


def territory(instance: str = "metz", profile: str = "referentiel", secret: str = "apikey.txt") -> str:
    return TERRITORY.format(instance=instance, profile=profile, secret=secret)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "communes.csv").write_text("insee,name\n57463,Metz\n", encoding="utf-8")
    (tmp_path / "apikey.txt").write_text(SECRET + "\n", encoding="utf-8")
    return tmp_path


def raccord(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The installed command in a fresh process: a hang fails the test (timeout)
    instead of blocking the suite."""
    exe = shutil.which("raccord", path=str(Path(sys.executable).parent)) or "raccord"
    env = {**os.environ, "RACCORD_DATABASE_URL": f"sqlite:///{cwd / 'db.sqlite3'}"}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
                          check=False)


def check(folder: Path, text: str, timeout: float = 60) -> tuple[int, str]:
    (folder / "instances.toml").write_text(text, encoding="utf-8")
    done = raccord(["--config", str(folder / "instances.toml"), "check"], folder, timeout)
    out = done.stdout + done.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    return done.returncode, out


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


# -- names the gateway serves ------------------------------------------------------------


def test_every_service_route_is_a_reserved_name() -> None:
    # The gateway's own table: a route added there is refused as an instance name.
    assert set(gateway_app._SERVICE_ROUTES) | {status_page.PREFIX} <= RESERVED_INSTANCE_NAMES
    assert set(routes.TOP_LEVEL) == RESERVED_INSTANCE_NAMES
    assert routes.OPENAPI in RESERVED_PROFILE_NAMES
    assert status_page.PREFIX.startswith("_")  # no instance name can start so, whatever the table
    # And every top-level path the gateway documents (its module's "Routes::").
    documented = set(re.findall(r"(?<![>\w])/([\w.]+)", (gateway_app.__doc__ or "").split("Every answer")[0]))
    assert documented and documented <= RESERVED_INSTANCE_NAMES, documented


@pytest.mark.parametrize("name", [*routes.TOP_LEVEL, ".hidden", "Metz", "a/b"])
def test_an_instance_name_the_gateway_serves_or_no_url_holds_is_an_error(name: str, folder: Path) -> None:
    text = territory(instance=f'"{name}"' if not name.isidentifier() else name)
    report = check_text(text, folder)
    found = [f for f in report.errors if f.path == ("instances", name)]
    assert len(found) == 1, [str(f) for f in report.errors]
    assert found[0].line == line_of(text, "[instances.")
    if name in routes.TOP_LEVEL:
        assert "a path the gateway serves itself" in found[0].message and found[0].hint
    else:
        assert "lower-case letters" in found[0].message


@pytest.mark.parametrize("name", [routes.OPENAPI, "_x", "Adresse"])
def test_a_profile_name_that_is_no_url_segment_is_an_error(name: str, folder: Path) -> None:
    text = territory(profile=name).replace(f"[profiles.{name}]", f'[profiles."{name}"]')
    report = check_text(text, folder)
    assert any(f.path == ("profiles", name) and f.line == 4 for f in report.errors), \
        [str(f) for f in report.errors]


def test_serve_refuses_a_reserved_instance_name(folder: Path) -> None:
    (folder / "instances.toml").write_text(territory(instance="metrics"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"instances\.metrics: instance name 'metrics' is a path the gateway"):
        load_checked(str(folder / "instances.toml"))  # serve's pre-check, before any fork


# -- secret files ------------------------------------------------------------------------


def test_a_fifo_secret_is_an_error_and_check_does_not_hang(folder: Path) -> None:
    os.mkfifo(folder / "fifo")
    text = territory(secret="fifo")
    code, out = check(folder, text)
    assert code == 1
    assert (f"instances.toml:{line_of(text, 'apikey')}: instances.metz.clients.wcs.apikey: "
            "secret file 'fifo' is a named pipe (FIFO), not a regular file") in out


def test_serve_refuses_a_fifo_secret_at_once(folder: Path) -> None:
    os.mkfifo(folder / "fifo")
    (folder / "instances.toml").write_text(territory(secret="fifo"), encoding="utf-8")
    done = raccord(["--config", "instances.toml", "serve", "--port", "0"], folder, timeout=60)
    assert done.returncode == 1
    assert "secret file 'fifo' is a named pipe (FIFO)" in done.stderr
    assert "raccord gateway on" not in done.stderr


@pytest.mark.parametrize(("target", "kind"), [("/dev/zero", "a character device"), (".", "a directory")])
def test_a_device_or_a_directory_as_secret_is_an_error(target: str, kind: str, folder: Path) -> None:
    code, out = check(folder, territory(secret=target))
    assert code == 1
    assert f"secret file {target!r} is {kind}, not a regular file" in out


def test_a_huge_secret_file_is_an_error_that_never_shows_it(folder: Path) -> None:
    (folder / "big.txt").write_text(SECRET * (MAX_SECRET_BYTES // len(SECRET) + 1), encoding="utf-8")
    code, out = check(folder, territory(secret="big.txt"))
    assert code == 1
    assert f"over the {MAX_SECRET_BYTES:,}-byte limit" in out and SECRET not in out


def test_a_missing_secret_file_stays_a_warning(folder: Path) -> None:
    # The service's environment may differ from the admin's: it is not a wrong target.
    code, out = check(folder, territory(secret="absent.txt"))
    assert code == 0 and "warning:" in out and "secret file 'absent.txt' cannot be read" in out


def test_a_secret_file_read_at_call_time_is_bounded_too(folder: Path) -> None:
    from framework.config.model import SecretRef
    from framework.errors import FileRefused, Unavailable

    os.mkfifo(folder / "fifo")
    with pytest.raises(FileRefused, match="FIFO") as caught:
        SecretRef("file", "fifo", str(folder)).resolve()
    assert isinstance(caught.value, Unavailable)  # a 503 at call time, as any missing secret
    assert str(folder) not in caught.value.describe()
    assert SecretRef("file", "apikey.txt", str(folder)).resolve() == SECRET


# -- the configuration file itself --------------------------------------------------------


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_configuration_that_is_no_regular_file_is_refused_at_once(target: str, folder: Path) -> None:
    if target == "fifo":
        os.mkfifo(folder / "fifo")
    done = raccord(["--config", target, "check"], folder)
    assert done.returncode == 1 and "not a regular file" in done.stdout + done.stderr


# -- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "[" * 100_000 + "]" * 100_000,
    "{ a = " * 100_000 + "1" + " }" * 100_000,
    "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1),
], ids=["arrays-100000", "inline-tables-100000", "arrays-just-over"])  # an id is in the env (E2BIG)
def test_deep_nesting_is_an_error_at_its_line(value: str, folder: Path) -> None:
    text = territory() + f"\n[instances.metz.settings.referentiel]\nqueries = {value}\n"
    code, out = check(folder, text)
    assert code == 1
    assert f"instances.toml:{line_of(text, 'queries =')}: arrays or inline tables nested deeper than " \
           f"{MAX_NESTING} levels" in out


def test_a_dotted_key_of_100000_parts_is_an_error_not_gigabytes(folder: Path) -> None:
    text = territory() + "\nx" + ".y" * 100_000 + " = 1\n"
    code, out = check(folder, text, timeout=60)
    assert code == 1
    assert f"instances.toml:{len(text.splitlines())}: a dotted key or table header of more than " \
           f"{MAX_NESTING} parts" in out


def test_nesting_inside_strings_and_comments_is_not_counted(folder: Path) -> None:
    deep = "[" * 100 + "{" * 100 + "." * 100
    text = territory().replace('name = "Metz"', f'name = "{deep}"  # {deep}\n'
                               f"identity = {{ logo = '{deep}', address = \"\"\"\n{deep}\n\"\"\" }}")
    report = check_text(text, folder)
    assert report.ok, [str(f) for f in report.errors]
    assert deep in text
