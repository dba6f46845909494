"""docs/writing-connectors.md is executed: its code blocks, titled with file names, are
the files of a connector package that is scaffolded, written, installed and tested
here, so the tutorial cannot drift from what works.

- ``src/…`` and ``tests/…`` blocks are the package's files (blocks with the same title
  are concatenated in order); the package's own tests run with raccord's pytest
  plugin, then ``mypy --strict``;
- ``instances.toml`` blocks, concatenated, are checked with ``raccord check`` in the
  package's environment;
- the ``contrib/…`` block is an override, applied to a territory in process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner

from framework.cli import cli
from tests.framework.testing.test_scaffold_package import install, run_in, side_environment

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "writing-connectors.md"
_BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.M | re.S)

pytestmark = pytest.mark.slow


def blocks() -> dict[str, str]:
    """Titled blocks by title, concatenated in order."""
    files: dict[str, str] = {}
    for _, title, body in _BLOCK.findall(TUTORIAL.read_text(encoding="utf-8")):
        if title:
            files[title] = files.get(title, "") + body
    return files


def scaffold_command() -> list[str]:
    """The tutorial's first command, as it is written."""
    for lang, _, body in _BLOCK.findall(TUTORIAL.read_text(encoding="utf-8")):
        if lang == "sh" and body.startswith("raccord new-connector"):
            import shlex

            return shlex.split(body.strip())[1:]
    raise AssertionError("the tutorial no longer starts with raccord new-connector")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The tutorial's package, scaffolded then written from the blocks, installed in a
    side environment: (package directory, its python)."""
    where = tmp_path_factory.mktemp("tutorial")
    args = scaffold_command()
    args[args.index("--package") + 1] = str(where / args[args.index("--package") + 1])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    root = Path(args[args.index("--package") + 1])
    for title, text in blocks().items():
        if title.startswith(("src/", "tests/")):
            (root / title).write_text(text, encoding="utf-8")
    python = side_environment(where)
    install(python, root)
    yield root, python


def test_the_tutorials_package_passes_its_own_tests(package: tuple[Path, Path]) -> None:
    root, python = package
    result = run_in(root, python, "pytest", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    # the permission refusal and the body-schema refusal are among them
    assert "8 passed" in result.stdout, result.stdout[-500:]


def test_the_tutorials_package_passes_mypy_strict(package: tuple[Path, Path]) -> None:
    root, python = package
    result = run_in(root, python, "mypy", "--strict", "src", "tests")
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_tutorials_configuration_passes_raccord_check(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, python = package
    config = tmp_path / "instances.toml"
    config.write_text(blocks()["instances.toml"], encoding="utf-8")
    override = tmp_path / "contrib_marly.py"
    override.write_text(blocks()["contrib/marly/encombrants.py"], encoding="utf-8")
    # The override module is found as contrib.marly.encombrants through contrib's path.
    code = ("import contrib, sys, types; marly = types.ModuleType('contrib.marly'); marly.__path__ = []; "
            "sys.modules['contrib.marly'] = marly; import importlib.util as u; "
            f"spec = u.spec_from_file_location('contrib.marly.encombrants', {str(override)!r}); "
            "m = u.module_from_spec(spec); sys.modules[spec.name] = m; spec.loader.exec_module(m); "
            f"from framework.cli import main; main(['--config', {str(config)!r}, 'check'])")
    result = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                            env={"PATH": "/usr/bin:/bin", "METZ_ENCOMBRANTS_TOKEN": "x", "METZ_WCS_SECRET": "y",
                                 "MARLY_ENCOMBRANTS_TOKEN": "z"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "marly/encombrants" in result.stdout + result.stderr  # the override is listed


def test_the_override_changes_marlys_texts_only(package: tuple[Path, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import contrib

    root, _ = package
    marly = tmp_path / "contrib" / "marly"
    marly.mkdir(parents=True)
    (marly / "__init__.py").write_text("")
    (marly / "encombrants.py").write_text(blocks()["contrib/marly/encombrants.py"], encoding="utf-8")
    monkeypatch.setattr(contrib, "__path__", [*contrib.__path__, str(tmp_path / "contrib")])
    monkeypatch.syspath_prepend(str(root / "src"))
    for name in ("METZ_ENCOMBRANTS_TOKEN", "MARLY_ENCOMBRANTS_TOKEN", "METZ_WCS_SECRET"):
        monkeypatch.setenv(name, "x")
    from framework.plugins import as_plugin
    from framework.testing import call, make_raccord

    connector = __import__("raccord_encombrants.connector", fromlist=["Encombrants"]).Encombrants
    raccord = make_raccord(blocks()["instances.toml"], tmp_path, plugins=[as_plugin(connector)], entry_points=False)
    slot = {"id": "2027-01-12-am", "date": "2027-01-12", "period": "am", "left": 2}
    try:
        with responses.RequestsMock() as mock:
            for host in ("metz", "marly"):
                mock.get(f"https://encombrants.{host}.example/api/slots", json=[slot])
            texts: dict[str, Any] = {i: call(raccord, f"{i}/encombrants/slots", district="c")[0]["text"]
                                     for i in ("metz", "marly")}
    finally:
        raccord.close()
        for name in [m for m in sys.modules if m.startswith(("contrib.marly", "raccord_encombrants"))]:
            monkeypatch.delitem(sys.modules, name)
    assert texts == {"metz": "2027-01-12 (matin)", "marly": "mardi 2027-01-12 (matin)"}
