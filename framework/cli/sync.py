"""``raccord sync <instance> <profile> <job>``: run a periodic job now, with progress."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("instance")
@click.argument("profile")
@click.argument("job")
@click.pass_context
def sync(ctx: click.Context, instance: str, profile: str, job: str) -> None:
    """Run JOB of INSTANCE/PROFILE now, in this process; exit 1 if it fails."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from framework.cli import open_runtime
    from framework.errors import RaccordError
    from framework.runtime.redact import error_text
    from framework.runtime.sync import run_sync

    runtime = open_runtime(ctx)
    try:
        if job not in runtime.bound(instance, profile).jobs:  # before drawing a progress bar
            jobs = ", ".join(sorted(runtime.bound(instance, profile).jobs)) or "none"
            raise click.ClickException(f"{instance}/{profile} has no job {job!r} (its jobs: {jobs})")
    except BaseException:
        runtime.close()
        raise
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task(f"{instance}/{profile} {job}", total=None)

            def advance(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            result = run_sync(runtime, instance, profile, job, progress=advance)
    except RaccordError:
        raise  # main() prints the message and hint, exit 1
    except Exception as exc:
        binding = runtime.territory.bindings.get((instance, profile))
        raise click.ClickException(f"sync {instance}/{profile} {job} failed: {error_text(exc, binding)}") from None
    finally:
        runtime.close()
    click.echo(f"{instance}/{profile} {job}: done")
    if result is not None:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
