"""instances.toml: layering with provenance, and every mistake reported at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from framework.config.loader import load
from framework.plugins import load_registry, make_plugin_manager
from framework.registry import ConnectorRegistry
from tests.framework import demo_connector

GOOD = textwrap.dedent('''\
    [territory]
    name = "Test"
    triage = "metropole"

    [profiles.tickets]
    connector = "demo"
    cost = { setup_days = 2, yearly_days = 1 }

    [profiles.tickets.settings]
    page_size = 50

    [instances.metropole]
    name = "Métropole"
    kind = "metropole"
    profiles = ["tickets"]

    [instances.metropole.settings.tickets]
    url = "https://gru.example.org"
    password = { env = "DEMO_PASSWORD" }

    [instances.metz]
    name = "Ville de Metz"
    insee = ["57463"]
    population = 120211
    hosted_by = "metropole"
    profiles = ["tickets"]

    [instances.metz.settings.tickets]
    url = "https://gru.metz.example"
    password = { env = "DEMO_PASSWORD" }
    categories = ["voirie"]

    [instances.metz.overrides.tickets]
    reason = "Metz only has one category"
    owner = "DSI Metz"
    review_by = 2027-06-30
    ''')


@pytest.fixture
def registry() -> ConnectorRegistry:
    return load_registry(make_plugin_manager(plugins=[demo_connector], entry_points=False))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "instances.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads_with_provenance_of_each_layer(tmp_path: Path, registry: ConnectorRegistry) -> None:
    territory, report = load(write(tmp_path, GOOD), registry)
    assert report.ok, [str(f) for f in report.findings]
    assert territory is not None
    metz = territory.binding("metz", "tickets")
    ratio, page_size, categories = (metz.settings[n] for n in ("ratio", "page_size", "categories"))
    assert (ratio.value, ratio.source.layer) == (1.5, "default")
    assert (page_size.value, page_size.source.layer, page_size.source.line) == (50, "profile", 10)
    assert page_size.shadows[0][1] == 20
    assert (categories.value, categories.source.layer, categories.source.line) == (["voirie"], "instance", 31)
    assert metz.override is not None and metz.override.settings == ("categories",)
    assert str(metz.settings["password"].value) == "<secret env:DEMO_PASSWORD>"


SIX_MISTAKES = GOOD.replace(
    'page_size = 50', 'page_size = "fifty"'  # line 10: wrong type
).replace(
    'population = 120211', 'populaton = 120211'  # line 24: unknown key (did you mean?)
).replace(
    'hosted_by = "metropole"', 'hosted_by = "metropol"'  # line 25: unknown hosted_by
).replace(
    'password = { env = "DEMO_PASSWORD" }\ncategories', 'password = "hunter2"\ncategories'  # line 30: literal
).replace(
    '[instances.metz.overrides.tickets]', '[instances.metz.overide.tickets]'  # line 33: unknown key,
    # so categories (line 31) becomes an undeclared deviation
).replace(
    'kind = "metropole"\n', 'kind = "metropole"\ninsee = ["57463"]\n'  # line 14: INSEE claimed twice
)


def test_six_mistakes_are_all_reported_with_their_lines(tmp_path: Path, registry: ConnectorRegistry) -> None:
    assert SIX_MISTAKES.count("\n") == GOOD.count("\n") + 1
    _, report = load(write(tmp_path, SIX_MISTAKES), registry)
    found = {(f.line, f.dotted.split(".")[-1]) for f in report.errors}
    messages = "\n".join(str(f) for f in report.errors)
    assert (10, "page_size") in found, messages
    assert (25, "populaton") in found and "did you mean 'population'" in messages
    assert (26, "hosted_by") in found and "did you mean 'metropole'" in messages
    assert (31, "password") in found and "literal" in messages
    assert (32, "categories") in found and "shared setting" in messages, messages
    assert (34, "overide") in found and "did you mean 'overrides'" in messages
    assert (24, "insee") in found and "already claimed by instance 'metropole'" in messages
    assert len(report.errors) == 7, messages
    assert all(str(f).startswith(f"{tmp_path / 'instances.toml'}:") for f in report.errors)
    assert "hunter2" not in messages


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('connector = "demo"', 'connector = "dem"'), "unknown connector 'dem'"),
        (('profiles = ["tickets"]\n\n[instances.metropole.settings',
          'profiles = ["ticket"]\n\n[instances.metropole.settings'), "unknown profile 'ticket'"),
        (('url = "https://gru.example.org"\n', ''), "needs setting 'url', set nowhere"),
        (('page_size = 50', 'page_size = 50\napi_version = "v3"'), None),
        (('categories = ["voirie"]', 'api_version = "v3"'), "fixed setting"),
        (('hosted_by = "metropole"', 'hosted_by = "metz"'), "cycle"),
        (('reason = "Metz only has one category"', 'reason = ""'), "needs a reason"),
        (('name = "Test"', 'name = "Test'), "TOML syntax"),
        (('review_by = 2027-06-30', 'review_by = "soon"'), "is not a date"),
        (('page_size = 50', 'page_size = 50\n[profiles.tickets.jobs.refresh]\nschedule = "every fortnight"'),
         "schedule 'every fortnight' not understood"),
        (('page_size = 50', 'page_size = 50\n[profiles.tickets.jobs.refresh]\nschedule = "61 * * * *"'),
         "not a valid cron string"),
        (('page_size = 50', 'page_size = 50\n[profiles.tickets.jobs.refrsh]\nschedule = "hourly"'),
         "did you mean 'refresh'"),
        (('[instances.metropole]\nname', '[instances.metropole]\nhosted_by = "metz"\nname'), "cycle"),
    ],
)
def test_each_kind_of_mistake_has_a_clear_error(tmp_path: Path, registry: ConnectorRegistry,
                                                change: tuple[str, str], expected: str | None) -> None:
    old, new = change
    assert old in GOOD
    _, report = load(write(tmp_path, GOOD.replace(old, new, 1)), registry)
    messages = "\n".join(str(f) for f in report.errors)
    if expected is None:
        assert report.ok, messages  # a fixed setting may be set in the profile (for everyone)
    else:
        assert expected in messages
        assert all(f.line for f in report.errors), messages


def test_missing_file_and_bad_encoding_are_errors_not_tracebacks(tmp_path: Path, registry: ConnectorRegistry) -> None:
    territory, report = load(tmp_path / "nope.toml", registry)
    assert territory is None and "cannot read" in str(report.errors[0])
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[territory]")
    territory, report = load(bad, registry)
    assert territory is None and "UTF-8" in str(report.errors[0])


def test_secret_file_reference_resolves_relative_to_the_config(tmp_path: Path, registry: ConnectorRegistry) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw").write_text("s3cret\n")
    text = GOOD.replace('password = { env = "DEMO_PASSWORD" }', 'password = { file = "secrets/pw" }', 1)
    territory, report = load(write(tmp_path, text), registry)
    assert report.ok and territory is not None
    ref = territory.binding("metropole", "tickets").value("password")
    assert ref.resolve() == "s3cret" and "s3cret" not in repr(ref)


@pytest.mark.parametrize(("old", "new"), [
    ("population = 120211", "population = 120211\nweight = nan"),
    ("population = 120211", "population = 120211\nweight = inf"),
    ("setup_days = 2", "setup_days = inf"),
    ("yearly_days = 1", "yearly_days = nan"),
    ("[profiles.tickets]\n", "[costs]\nday_rate_eur = inf\n\n[profiles.tickets]\n"),
    ("[profiles.tickets]\n", "[costs]\nfloor_eur = nan\n\n[profiles.tickets]\n"),
    ("[profiles.tickets]\n", "[runtime]\nmax_attempts = nan\n\n[profiles.tickets]\n"),
    ("page_size = 50", "page_size = 50\nread_timeout = nan"),  # a connector's number setting
])
def test_non_finite_numbers_are_errors_with_their_line(tmp_path: Path, registry: ConnectorRegistry,
                                                       old: str, new: str) -> None:
    # TOML has inf and nan; a cost model or a weight made of them cannot be computed.
    assert old in GOOD
    _, report = load(write(tmp_path, GOOD.replace(old, new, 1)), registry)
    [error] = report.errors
    assert "finite" in error.message and error.line is not None


def test_secret_file_that_is_not_text_is_unavailable(tmp_path: Path) -> None:
    from framework.config.model import SecretRef
    from framework.errors import Unavailable

    (tmp_path / "pw").write_bytes(b"\xff\xfe\x00secret")
    ref = SecretRef("file", "pw", str(tmp_path))
    with pytest.raises(Unavailable) as caught:
        ref.resolve()
    assert "UTF-8" in caught.value.message and "secret\x00" not in caught.value.message
    assert not ref.available()


@pytest.mark.parametrize("setting", ["max_body_bytes = -2", "max_body_bytes = 0", "signature_window_seconds = -30"])
def test_gateway_limits_must_be_positive(tmp_path: Path, registry: ConnectorRegistry, setting: str) -> None:
    text = GOOD.replace("[profiles.tickets]\n", f"[gateway]\n{setting}\n\n[profiles.tickets]\n", 1)
    territory, report = load(write(tmp_path, text), registry)
    [error] = report.errors
    assert "must be positive" in error.message and error.line == 6
    assert territory is not None and territory.gateway.max_body_bytes == 64 * 1_048_576
    assert territory.gateway.signature_window_seconds == 30


def test_error_status_defaults_to_passerelle_and_is_checked(tmp_path: Path, registry: ConnectorRegistry) -> None:
    territory, report = load(write(tmp_path, GOOD), registry)
    assert territory is not None and territory.gateway.error_status == "passerelle"
    text = GOOD.replace("[profiles.tickets]\n", '[gateway]\nerror_status = "http"\n\n[profiles.tickets]\n', 1)
    text += ('\n[instances.metz.clients.portail]\napikey = { env = "K" }\nerror_status = "passerelle"\n'
             '\n[instances.metz.clients.other]\napikey = { env = "K2" }\nerror_status = "500"\n')
    territory, report = load(write(tmp_path, text), registry)
    [error] = report.errors
    assert "error_status must be one of http, passerelle, not '500'" in error.message
    assert territory is not None and territory.gateway.error_status == "http"
    assert territory.instances["metz"].clients["portail"].error_status == "passerelle"
    assert territory.instances["metz"].clients["other"].error_status is None
