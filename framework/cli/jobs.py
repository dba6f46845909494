"""``raccord jobs list|show|retry|purge``: the durable job queue, for administrators."""

from __future__ import annotations

from typing import Any

import click

from framework.cli.output import Col, echo_table, emit_json, format_option
from framework.errors import NotFound


@click.group()
def jobs() -> None:
    """Inspect and manage the job queue (pushes, periodic synchronisations)."""


@jobs.command("list")
@click.option("--instance", help="only this instance's jobs")
@click.option("--profile", help="only this profile's jobs")
@click.option("--status", type=click.Choice(["queued", "running", "done", "dead"]), help="only jobs in this status")
@click.option("--limit", default=50, show_default=True, help="at most this many, newest first")
@format_option()
@click.pass_context
def list_jobs(ctx: click.Context, instance: str | None, profile: str | None, status: str | None, limit: int,
              fmt: str) -> None:
    """List jobs, newest first."""
    from framework.cli import open_runtime
    from framework.runtime.queue import count_by_status, list_jobs

    runtime = open_runtime(ctx)
    try:
        found = list_jobs(runtime.db, instance=instance, profile=profile, status=status, limit=limit)
        counts = count_by_status(runtime.db)
    finally:
        runtime.close()
    if fmt == "json":
        emit_json("jobs list", {"jobs": [job_entry(j) for j in found], "queue": counts})
        return
    rows = [[str(job.id), f"{job.instance}/{job.profile}", job.name, job.status,
             f"{job.attempts}/{job.max_attempts}", job.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
             job.error or ""] for job in found]
    echo_table([Col("id", ident=True, right=True), Col("binding", ident=True), Col("job", ident=True),
                Col("status"), Col("attempts"), Col("updated (UTC)"), Col("error")], rows)
    click.echo("queue: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "empty"))


def job_entry(job: Any, *, full: bool = False) -> dict[str, Any]:
    """A job as JSON: what the gateway shows its callers, plus binding and kind (and,
    with ``full``, what only administrators see: idempotency key, worker, lease)."""
    entry = {**job.public(), "instance": job.instance, "profile": job.profile,
             "binding": f"{job.instance}/{job.profile}", "kind": job.kind}
    if full:
        entry.update(idempotency_key=job.idempotency_key, worker=job.worker,
                     lease_until=job.lease_until.isoformat() if job.lease_until else None)
    return entry


@jobs.command()
@click.argument("job_id", type=int)
@format_option()
@click.pass_context
def show(ctx: click.Context, job_id: int, fmt: str) -> None:
    """Show one job: status, attempts, result or error."""
    import json

    from framework.cli import open_runtime
    from framework.runtime.queue import find_job

    runtime = open_runtime(ctx)
    try:
        job = find_job(runtime.db, job_id)
    finally:
        runtime.close()
    if job is None:
        raise NotFound(f"no job {job_id}", hint="`raccord jobs list` shows the existing ones")
    shown = job_entry(job, full=True)
    if fmt == "json":
        emit_json("jobs show", {"job": shown})
        return
    rows = [[key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)]
            for key, value in shown.items()]
    echo_table([Col("field", ident=True), Col("value")], rows, title=f"Job {job_id}")


@jobs.command()
@click.argument("job_ids", type=int, nargs=-1, required=True)
@click.pass_context
def retry(ctx: click.Context, job_ids: tuple[int, ...]) -> None:
    """Put dead jobs back in the queue with fresh attempts."""
    from framework.cli import open_runtime
    from framework.runtime.queue import find_job, retry_job

    runtime = open_runtime(ctx)
    failed = False
    try:
        for job_id in job_ids:
            if retry_job(runtime.db, job_id):
                click.echo(f"job {job_id} queued again")
                continue
            failed = True
            job = find_job(runtime.db, job_id)
            why = "it does not exist" if job is None else f"it is {job.status}, only dead jobs are retried"
            click.echo(f"error: job {job_id} not retried: {why}", err=True)
    finally:
        runtime.close()
    if failed:
        raise SystemExit(1)


@jobs.command()
@click.option("--older-than", "days", type=float, default=30, show_default=True, help="age in days")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["done", "dead"]),
              help="which finished jobs (default: done and dead)")
@click.pass_context
def purge(ctx: click.Context, days: float, statuses: tuple[str, ...]) -> None:
    """Delete finished jobs older than --older-than days."""
    from framework.cli import open_runtime
    from framework.runtime.queue import purge as purge_jobs

    runtime = open_runtime(ctx)
    try:
        gone = purge_jobs(runtime.db, days, statuses=statuses or ("done", "dead"))
    finally:
        runtime.close()
    click.echo(f"purged {gone} job(s) finished more than {days:g} day(s) ago")
