"""Access: the declaration's rules, the admin's access tables, and the one call path."""

from __future__ import annotations

import re
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from framework import Call, Connector, endpoint, hookimpl
from framework.config.report import Report
from framework.errors import BadRequest, Forbidden, PluginError, Unauthorized
from framework.registry import ConnectorRegister
from framework.testing import call, check_text, make_raccord
from tests.framework import demo_connector

# demo: echo (open), item (open), settings_ (can_access), push (POST, can_push).
TERRITORY = textwrap.dedent('''\
    [profiles.tickets]
    connector = "demo"
    {profile_access}

    [instances.metz]
    name = "Metz"
    profiles = ["tickets"]
    grants = ["marly.wcs"]
    settings.tickets = {{ url = "https://gru.metz.example", password = {{ env = "DEMO_PASSWORD" }} }}

    [instances.metz.clients.wcs]
    apikey = {{ env = "METZ_KEY" }}
    permissions = ["can_push", "can_access"]

    [instances.metz.clients.portail]
    apikey = {{ env = "METZ_PORTAIL_KEY" }}
    permissions = {portail_permissions}

    [instances.marly]
    name = "Marly"
    profiles = ["tickets"]
    settings.tickets = {{ url = "https://gru.marly.example", password = {{ env = "DEMO_PASSWORD" }} }}

    [instances.marly.clients.wcs]
    apikey = {{ env = "MARLY_KEY" }}
    permissions = ["can_access"]
    {instance_access}
''')


def territory(profile_access: str = "", instance_access: str = "",
              portail_permissions: str = '["can_access"]') -> str:
    return TERRITORY.format(profile_access=profile_access, instance_access=instance_access,
                            portail_permissions=portail_permissions)


def errors(report: Report) -> list[str]:
    return [str(f) for f in report.errors]


def check(tmp_path: Path, text: str) -> Report:
    return check_text(text, tmp_path, plugins=[demo_connector], entry_points=False)


# -- the declaration ----------------------------------------------------------------

def test_permission_is_a_required_argument() -> None:
    with pytest.raises(TypeError, match="permission"):
        endpoint(description="no permission")  # type: ignore[call-arg]


def _register(**declaration: Any) -> None:
    class Shop(Connector):
        id = "shop"

        @endpoint(description="Buy something.", **declaration)
        def buy(self, call: Call) -> Any:
            return None

    ConnectorRegister().add(Shop)


@pytest.mark.parametrize(("declaration", "message"), [
    ({"permission": "open", "methods": ["POST"]}, "'buy': has side effects (POST) and is open to anyone"),
    ({"permission": "open", "methods": ["DELETE", "GET"]}, "side effects (DELETE)"),
    ({"permission": "can_access", "open_reason": "why"}, "open_reason is only for open endpoints"),
    ({"permission": " "}, "needs an explicit permission"),
])
def test_bad_declarations_are_plugin_errors_naming_connector_and_endpoint(
        declaration: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginError, match=re.escape(message)) as err:
        _register(**declaration)
    assert "Shop" in str(err.value) and "'buy'" in str(err.value)


@pytest.mark.parametrize("declaration", [
    {"permission": "open"},
    {"permission": "open", "methods": ["POST"], "open_reason": "PayFiP notifies the payment's end"},
    {"permission": "can_access", "methods": ["POST"]},
])
def test_good_declarations_register(declaration: dict[str, Any]) -> None:
    _register(**declaration)


def test_an_override_cannot_add_an_open_side_effect(tmp_path: Path) -> None:
    module = types.ModuleType("contrib.access_open_post")

    @endpoint(permission="open", methods=["POST"], description="Delete everything.")
    def wipe(self: Any, call: Call) -> Any:
        return None

    @hookimpl
    def raccord_override(override: Any) -> None:
        override.add_endpoint(wipe)

    module.raccord_override = raccord_override  # type: ignore[attr-defined]
    import sys

    sys.modules[module.__name__] = module
    try:
        text = territory() + textwrap.dedent('''
            [instances.metz.overrides.tickets]
            plugin = "contrib.access_open_post"
            reason = "test"
        ''')
        found = errors(check(tmp_path, text))
    finally:
        del sys.modules[module.__name__]
    # The one verifier reports it at the override's plugin line.
    assert any("overrides.tickets.plugin" in e and "'wipe': has side effects (POST)" in e for e in found), found


# -- the admin's rules --------------------------------------------------------------

def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("profile_access", "instance_access", "portail", "needle", "message"), [
    ("", "", '["can_acess"]', "can_acess",
     "client metz.portail: unknown permission 'can_acess' (no endpoint needs it) — did you mean 'can_access'?"),
    ("", "", '["open"]', '["open"]', '"open" is not a permission to give'),
    ('[profiles.tickets.access.push]\npermission = "can_pussh"', "", '["can_access"]', "can_pussh",
     "unknown permission 'can_pussh': no endpoint declares it and no client holds it, so nobody could "
     "call this endpoint — did you mean 'can_push'?"),
    ('[profiles.tickets.access.pushh]\npermission = "can_push"', "", '["can_access"]', "access.pushh",
     "demo has no endpoint 'pushh' — did you mean 'push'?"),
    ("", '[instances.marly.access.tickets.ecko]\nclients = ["marly.wcs"]', '["can_access"]', "access.tickets.ecko",
     "demo has no endpoint 'ecko' — did you mean 'echo'?"),
    ("", '[instances.marly.access.tickets.echo]\nclients = ["marly.wsc"]', '["can_access"]', "marly.wsc",
     "'marly.wsc' names no known client — did you mean 'marly.wcs'?"),
    ("", '[instances.marly.access.tickets.echo]\npermision = "can_access"', '["can_access"]', "permision",
     "unknown key 'permision' — did you mean 'permission'?"),
    ('[profiles.tickets.access.push]\npermission = "open"', "", '["can_access"]', "access.push",
     "'push' has side effects (POST) and is open to anyone without a reason"),
    ('[profiles.tickets.access.echo]\npermission = "can_access"',
     '[instances.marly.access.tickets.echo]\npermission = "open"', '["can_access"]', 'permission = "open"',
     "this rule loosens the common access of tickets/echo (permission can_access → open): it admits "
     "anonymous, metz.wcs, metz.portail; loosening is an override — declare it under "
     "[instances.marly.overrides.tickets] with a reason"),
])
def test_access_rule_mistakes_are_errors_at_their_line(tmp_path: Path, profile_access: str, instance_access: str,
                                                        portail: str, needle: str, message: str) -> None:
    text = territory(profile_access, instance_access, portail)
    found = errors(check(tmp_path, text))
    expected = f"instances.toml:{line_of(text, needle)}:"
    assert any(f"/{expected}" in e and message in e for e in found), (expected, message, found)


def test_a_rule_permission_held_by_a_client_is_known(tmp_path: Path) -> None:
    # An admin-invented permission: required by a rule and given to a client.
    text = territory('[profiles.tickets.access.push]\npermission = "can_pay"', portail_permissions='["can_pay"]')
    assert errors(check(tmp_path, text)) == []


@pytest.mark.parametrize("rule", [
    'permission = "can_push"',                    # a permission fewer clients have
    'clients = ["marly.wcs"]',                     # only some clients
    'permission = "can_access"\nclients = []',     # nobody
])
def test_tightening_is_free(tmp_path: Path, rule: str) -> None:
    text = territory(instance_access=f"[instances.marly.access.tickets.settings_]\n{rule}")
    report = check(tmp_path, text)
    assert errors(report) == []


def test_a_declared_loosening_is_recorded_on_the_override(tmp_path: Path) -> None:
    text = territory(instance_access=textwrap.dedent('''
        [instances.marly.access.tickets.settings_]
        permission = "open"

        [instances.marly.overrides.tickets]
        reason = "Marly publishes its settings"
        cost = { setup_days = 0.5 }
    '''))
    from framework.app import check_config

    path = tmp_path / "instances.toml"
    path.write_text(text, encoding="utf-8")
    from framework.plugins import make_plugin_manager

    territory_, report, _ = check_config(str(path), make_plugin_manager(plugins=[demo_connector],
                                                                          entry_points=False))
    assert territory_ is not None and errors(report) == []
    decl = territory_.binding("marly", "tickets").override
    assert decl is not None and decl.access == ("settings_",)
    assert territory_.binding("metz", "tickets").override is None


# -- the call path ------------------------------------------------------------------

@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    text = territory(instance_access='[instances.marly.access.tickets.echo]\nclients = ["marly.wcs"]')
    r = make_raccord(text, tmp_path, plugins=[demo_connector], entry_points=False)
    yield r
    r.close()


@pytest.mark.parametrize(("target", "caller", "error", "message"), [
    ("metz/tickets/push", None, Unauthorized, "metz/tickets/push needs permission 'can_push': authenticate"),
    ("metz/tickets/push", "metz.portail", Forbidden, "client metz.portail lacks permission 'can_push'"),
    ("metz/tickets/push", "marly.wcs", Forbidden, "client marly.wcs lacks permission 'can_push'"),  # granted
    ("marly/tickets/push", "metz.wcs", Forbidden, "client metz.wcs is not allowed on instance 'marly'"),
    ("marly/tickets/echo", None, Unauthorized, "marly/tickets/echo needs an authorised client"),
    ("marly/tickets/echo", "metz.wcs", Forbidden, "not allowed on instance 'marly'"),
])
def test_the_kit_refuses_what_the_gateway_refuses(kit: Any, target: str, caller: str | None, error: type,
                                                  message: str) -> None:
    with pytest.raises(error) as err:
        call(kit, target, method="POST" if target.endswith("push") else "GET", body={"title": "x"}, as_=caller)
    assert message in err.value.message


def test_open_endpoints_serve_any_known_client_and_the_body_schema_is_checked(kit: Any) -> None:
    assert call(kit, "metz/tickets/echo", as_=None, q="a")["params"]["q"] == "a"
    # Marly does not grant metz.wcs: on an open endpoint its valid credentials still serve.
    assert call(kit, "marly/tickets/item", path="7", as_="metz.wcs") == {"ident": "7"}
    with pytest.raises(BadRequest, match="body: 'title' is a required property"):
        call(kit, "metz/tickets/push", method="POST", body={}, as_="metz.wcs")
    assert call(kit, "metz/tickets/push", method="POST", body={"title": "t"}, as_="metz.wcs") == {
        "received": {"title": "t"}}
    assert call(kit, "marly/tickets/push", method="POST", body={"title": "t"})["received"]  # administrator


# -- a declared loosening, as the admin sees it ------------------------------------------

LOOSENING = '''
[instances.marly.access.paiement.payment]
permission = "open"
'''
DECLARATION = '''
[instances.marly.overrides.paiement]
reason = "Marly's payment receipts page reads the status without credentials"
owner = "DSI Marly"
cost = { setup_days = 0.5, yearly_days = 0.25 }
'''


def example_copy(tmp_path: Path, extra: str) -> Path:
    from tests.conftest import ROOT

    text = (ROOT / "instances.toml").read_text(encoding="utf-8")
    text = text.replace(' = "data/', f' = "{ROOT}/data/')
    path = tmp_path / "instances.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def cli_run(*args: str) -> Any:
    from click.testing import CliRunner

    from framework.cli import cli

    return CliRunner().invoke(cli, list(args))


def test_an_undeclared_loosening_of_the_example_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = example_copy(tmp_path, LOOSENING)
    result = cli_run("--config", str(path), "check")
    line = len(path.read_text(encoding="utf-8").splitlines())  # permission = "open", the last line
    assert result.exit_code == 1
    assert (f"instances.toml:{line}: instances.marly.access.paiement.payment.permission: this rule loosens "
            "the common access of paiement/payment (permission can_access → open): it admits anonymous, "
            "metropole.") in result.output
    assert re.search(r"and \d+ more; loosening is an override — declare it under "
                     r"\[instances\.marly\.overrides\.paiement\] with a reason", result.output)


def test_a_declared_loosening_shows_in_check_deviations_and_costs(tmp_path: Path) -> None:
    import json

    path = example_copy(tmp_path, LOOSENING + DECLARATION)
    check = cli_run("--config", str(path), "check")
    assert check.exit_code == 0, check.output
    assert "[override] marly/paiement: loosens access to payment — Marly's payment receipts" in check.output
    assert re.search(r"paiement/payment[^\n]*\n    on 1 instance\(s\): marly\n", check.output)
    explained = cli_run("--config", str(path), "explain", "--deviations", "marly").output
    assert "  - access payment: permission can_access → open  [loosens: override]" in explained
    assert ("  - access create_payment: permission can_pay → permission can_pay + clients marly.wcs"
            "  [tightens: free]") in explained
    costs = json.loads(cli_run("--config", str(path), "costs", "--format", "json").output)
    override = next(o for o in costs["overrides"] if o["id"] == "marly/paiement")
    assert override["access"] == ["payment"] and override["cost"]["first_year_cents"] == 60000
