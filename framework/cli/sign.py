"""``raccord sign``: sign a URL the way Publik does, to test the gateway from a shell."""

from __future__ import annotations

import os

import click


@click.command()
@click.argument("url")
@click.option("--orig", required=True, help="the caller's id (the client's signature orig)")
@click.option("--secret-env", "secret_env", required=True, metavar="VAR",
              help="environment variable holding the shared secret (never a value on the command line)")
@click.option("--algo", type=click.Choice(["sha256", "sha512", "sha1"]), default="sha256",
              show_default=True)
def sign(url: str, orig: str, secret_env: str, algo: str) -> None:
    """Print URL signed with the secret in $VAR (orig, algo, timestamp, nonce, signature)."""
    from framework.gateway.signature import sign_query

    secret = os.environ.get(secret_env)
    if not secret:
        raise click.UsageError(f"environment variable {secret_env} is not set: export it first")
    base, _, query = url.partition("?")
    click.echo(f"{base}?{sign_query(query, secret, orig=orig, algo=algo)}")
