"""axe-core, the accessibility engine injected into the status page by the browser test.

It comes from the npm registry, pinned: ``.ci/run`` vendors it with ``npm pack
axe-core@VERSION`` into var/vendor/axe-core/ (MPL-2.0, its LICENSE beside it); run
the same line by hand for the browser tests on a development machine.
"""

from __future__ import annotations

import functools
import subprocess
import tarfile
from pathlib import Path

from tests.conftest import ROOT

VERSION = "4.11.0"
VENDOR = ROOT / "var" / "vendor" / "axe-core"


@functools.cache
def axe_script() -> str:
    path = VENDOR / VERSION / "axe.min.js"
    if not path.exists():
        fetch(VENDOR / VERSION)
    return path.read_text(encoding="utf-8")


def fetch(folder: Path) -> None:
    """``npm pack axe-core@VERSION`` and keep axe.min.js and its licence."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "pack", f"axe-core@{VERSION}", "--silent"], cwd=folder, capture_output=True,
                          text=True, timeout=180, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"npm pack axe-core@{VERSION} failed: {done.stderr[-500:]}")
    with tarfile.open(folder / f"axe-core-{VERSION}.tgz") as tar:
        for name in ("axe.min.js", "LICENSE"):
            member = tar.getmember(f"package/{name}")
            source = tar.extractfile(member)
            assert source is not None
            (folder / name).write_bytes(source.read())
