"""``raccord call``: run an endpoint from the shell and print its JSON envelope."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from framework.access import ADMINISTRATOR
from framework.errors import RaccordError, envelope_for


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: write parameters as name=value", param_hint="PARAMS")
        params[name] = value
    return params


@click.command()
@click.argument("instance")
@click.argument("profile")
@click.argument("endpoint")
@click.argument("params", nargs=-1)
@click.option("--method", "-X", default="GET", show_default=True, help="HTTP method to call with")
@click.option("--body", help="JSON body (for POST endpoints); @file reads it from a file")
@click.option("--path", default="", help="the rest of the path after the endpoint name")
@click.option("--as", "as_client", metavar="INSTANCE.CLIENT",
              help="call as this client of instances.toml (its permissions, grants and isolation, "
                   "as the gateway would); without it, as the administrator (every permission)")
@click.pass_context
def call(ctx: click.Context, instance: str, profile: str, endpoint: str, params: tuple[str, ...],
         method: str, body: str | None, path: str, as_client: str | None) -> None:
    """Call ENDPOINT of INSTANCE/PROFILE with name=value PARAMS; exit 1 on error.

    Runs as the administrator (every permission) unless --as names a client; the
    access rules, body schema and parameters are checked as the gateway checks them.
    """
    from framework.cli import open_runtime
    from framework.connector import Unwrapped

    raw = _parse_pairs(params)
    envelope: dict[str, Any]
    try:
        payload = _read_body(body)
        runtime = open_runtime(ctx)
        try:
            caller = runtime.caller(as_client) if as_client else ADMINISTRATOR
            data = runtime.invoke(instance, profile, endpoint, method=method.upper(), params=raw,
                                  body=payload, path=path, caller=caller)
        except RaccordError:
            raise
        except Exception as exc:  # a connector's bug: masked exactly as the gateway logs it
            envelope = _incident(exc, runtime.territory.bindings.get((instance, profile)))
        else:
            envelope = {"err": 0, "data": data.data if isinstance(data, Unwrapped) else data}
        finally:
            runtime.close()
    except RaccordError as exc:
        envelope = envelope_for(exc)
    click.echo(json.dumps(envelope, ensure_ascii=False, indent=2, default=str))
    if envelope["err"]:
        sys.exit(1)


def _incident(exc: Exception, binding: Any) -> dict[str, Any]:
    from framework.journal import mask_text, masked_traceback

    click.echo(masked_traceback(exc, binding), err=True)
    return {"err": 1, "err_class": "raccord.incident",
            "err_desc": f"internal error: {type(exc).__name__}: {mask_text(str(exc), binding)}", "data": None}


def _read_body(body: str | None) -> Any:
    from framework.errors import BadRequest

    if body is None:
        return None
    text = body
    if body.startswith("@"):
        try:
            with open(body[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise BadRequest(f"cannot read body file {body[1:]}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"--body is not JSON: {exc}") from None
