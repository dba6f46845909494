"""One call path: the gateway, `raccord call --as` and the test kit refuse the same calls of
the example territory with the same error (permission, isolation, body schema,
parameters)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from framework.app import Raccord
from framework.cli import cli
from framework.errors import RaccordError, envelope_for
from framework.gateway.app import Gateway
from framework.testing import call
from tests.framework.gateway import example as ex

PAY = ex.GOOD_PAYMENT
CASES: list[tuple[str | None, str, str, Any, dict[str, str], str]] = [
    # caller, target, method, body, params, expected err_class
    (None, "metz/paiement/create_payment", "POST", PAY, {}, "raccord.unauthorized"),
    (None, "metz/paiement/payment", "GET", None, {"idop": "x"}, "raccord.unauthorized"),
    ("metropole.wcs", "metz/paiement/create_payment", "POST", PAY, {}, "raccord.forbidden"),  # no can_pay
    ("metz.portail", "metz/paiement/create_payment", "POST", PAY, {}, "raccord.forbidden"),
    ("metz.wcs", "marly/paiement/create_payment", "POST", PAY, {}, "raccord.forbidden"),  # not granted
    ("metropole.wcs", "marly/paiement/create_payment", "POST", PAY, {}, "raccord.forbidden"),  # clients rule
    ("metropole.portail", "metz/paiement/payment", "GET", None, {"idop": "x"}, "raccord.forbidden"),
    ("metz.wcs", "metz/paiement/create_payment", "POST", {"amount": "a lot"}, {}, "raccord.bad_request"),
    ("metz.wcs", "metz/paiement/create_payment", "POST", {**PAY, "exer": "2024"}, {}, "raccord.bad_request"),
    ("communes.wcs", "woippy/paiement/create_payment", "POST", [PAY], {}, "raccord.bad_request"),
    ("metz.portail", "metz/paiement/payment", "GET", None, {}, "raccord.bad_request"),  # idop missing
    ("marly.wcs", "metz/paiement/create_payment", "GET", None, {}, "raccord.forbidden"),
    ("metz.wcs", "metz/paiement/create_payment", "GET", None, {}, "raccord.method_not_allowed"),
    ("marly.wcs", "metropole/referentiel/query", "GET", None, {"limit": "x"}, "raccord.bad_request"),
]
IDS = [f"{c}-{t.split('/', 1)[0]}-{t.rsplit('/', 1)[1]}-{e.split('.')[1]}" for c, t, _, _, _, e in CASES]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Raccord]:
    folder = tmp_path_factory.mktemp("paths")
    r = Raccord.open(ex.EXAMPLE, database_url=f"sqlite:///{folder / 'kit.sqlite3'}")
    yield r
    r.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    folder = tmp_path_factory.mktemp("paths-gw")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in ex.SECRETS.items():
            mp.setenv(name, value)
        gw = Gateway(Raccord.open(ex.EXAMPLE, database_url=f"sqlite:///{folder / 'gw.sqlite3'}"))
        yield Client(gw)
        gw.close()


def by_gateway(client: Client, caller: str | None, target: str, method: str, body: Any,
               params: dict[str, str]) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    headers: dict[str, str] = {}
    if caller is not None:
        query, headers = ex.credentials(caller, query)
    resp = client.open(f"/{target}?{query}", method=method, headers=headers,
                       data=json.dumps(body) if body is not None else None, content_type="application/json")
    return dict(resp.json)


def by_kit(r: Raccord, caller: str | None, target: str, method: str, body: Any,
           params: dict[str, str]) -> dict[str, Any]:
    try:
        return {"err": 0, "data": call(r, target, method=method, body=body, as_=caller, **params)}
    except RaccordError as exc:
        return envelope_for(exc)


def by_cli(caller: str, target: str, method: str, body: Any, params: dict[str, str], db: Path) -> dict[str, Any]:
    args = ["--config", str(ex.EXAMPLE), "call", *target.split("/"), *(f"{k}={v}" for k, v in params.items()),
            "-X", method, "--as", caller]
    if body is not None:
        args += ["--body", json.dumps(body)]
    result = CliRunner(env={"RACCORD_DATABASE_URL": f"sqlite:///{db}"}).invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    return dict(json.loads(result.output))


@pytest.mark.parametrize(("caller", "target", "method", "body", "params", "err_class"), CASES, ids=IDS)
def test_the_three_paths_refuse_alike(gateway: Client, runtime: Raccord, tmp_path: Path, caller: str | None,
                                      target: str, method: str, body: Any, params: dict[str, str],
                                      err_class: str) -> None:
    http = by_gateway(gateway, caller, target, method, body, params)
    assert http["err"] == 1 and http["err_class"] == err_class, http
    assert by_kit(runtime, caller, target, method, body, params) == http
    if caller is not None:  # `raccord call` has no anonymous caller: without --as it is the administrator
        assert by_cli(caller, target, method, body, params, tmp_path / "cli.sqlite3") == http


def test_without_as_the_command_line_is_the_administrator(tmp_path: Path) -> None:
    # The administrator passes the access check (every permission): what stops this call
    # is its body, exactly as for a client allowed to make it.
    args = ["--config", str(ex.EXAMPLE), "call", "metz", "paiement", "create_payment", "-X", "POST",
            "--body", json.dumps({"amount": "a lot"})]
    result = CliRunner(env={"RACCORD_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}).invoke(cli, args)
    assert result.exit_code == 1
    assert json.loads(result.output)["err_desc"].startswith("body")
    result = CliRunner().invoke(cli, ["--config", str(ex.EXAMPLE), "call", "metz", "paiement", "payment",
                                      "--as", "metz.wsc"])
    assert result.exit_code == 1 and "did you mean 'metz.wcs'?" in result.output
