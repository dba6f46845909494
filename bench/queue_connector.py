"""The trivial connector bench/queue_throughput.py runs: a job that does nothing but return."""

from __future__ import annotations

from framework import Connector, JobRun, hookimpl, job
from framework.registry import ConnectorRegister


class BenchQueue(Connector):
    id = "bench_queue"
    title = "Queue benchmark"

    @job(schedule="daily")
    def noop(self, run: JobRun) -> int:
        """Does nothing: returns its payload's number."""
        return int(run.payload.get("n", 0))

    @job(schedule=None)
    def boom(self, run: JobRun) -> None:
        """Fails (bench/queue_throughput.py --fail-one: a failure must end the run, not stall it)."""
        raise RuntimeError("this job always fails")


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(BenchQueue)


TERRITORY = """
[territory]
name = "bench"
[profiles.b]
connector = "bench_queue"
[instances.metz]
name = "Metz"
profiles = ["b"]
"""
