"""The benchmarks stay runnable (they never run in the test suite: speed targets live
in bench/, measured side by side): their command lines parse, and the connectors they
serve pass the registry's checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
