"""The status page in a real browser (Playwright driving Debian's Chromium) against
the running gateway (gunicorn) on a copy of the example territory.

Screenshots are kept under var/artifacts/status/ (CI keeps them as artefacts). The
accessibility check injects axe-core (vendored by .ci/run with ``npm pack``, see
tests/framework/gateway/axe.py) and fails on any serious or critical violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT
from tests.framework.gateway.conftest import Live

pytestmark = pytest.mark.xdist_group("browser")

ARTIFACTS = ROOT / "var" / "artifacts" / "status"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN = ("admin", "admin-password-for-tests")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, example_live: Live) -> Iterator[Any]:
    context = browser.new_context(http_credentials={"username": ADMIN[0], "password": ADMIN[1]},
                                  viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                  bypass_csp=True)  # the page allows no script; axe is injected
    tab = context.new_page()
    yield tab
    context.close()


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_refused_to_anonymous_and_to_clients_without_can_admin(example_live: Live) -> None:
    anonymous = requests.get(f"{example_live.url}/_status/", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["err"] == 1
    assert anonymous.headers["Content-Type"].startswith("application/json")
    other = requests.get(f"{example_live.url}/_status/", auth=("lecteur", "reader-password"), timeout=10)
    assert other.status_code == 403 and "can_admin" in other.json()["err_desc"]
    wrong = requests.get(f"{example_live.url}/_status/", auth=(ADMIN[0], "wrong"), timeout=10)
    assert wrong.status_code == 401


def test_the_page_shows_the_territory_to_its_admin(page: Any, example_live: Live) -> None:
    response = page.goto(f"{example_live.url}/_status/")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Metz Métropole — État du territoire"
    # Instances and topology: the tree puts Woippy under the multi-communal instance, itself under the metropolis.
    assert page.locator("#instances tbody tr, section[aria-labelledby=instances] tbody tr").count() == 48
    woippy = page.locator("ul.tree li", has=page.locator("a[href='#inst-woippy']")).last
    chain = woippy.evaluate("e => { const n = []; for (let p = e; p; p = p.parentElement.closest('li')) "
                            "n.push(p.querySelector('code').textContent); return n; }")
    assert chain == ["woippy", "communes", "metropole"]
    assert page.locator("#inst-metropole img").get_attribute("alt") == "Logo Metz Métropole"
    # Costs: the table and the three SVG charts, rendered (not empty boxes).
    assert "Coûts : qui paie quoi" in page.locator("#costs-h").inner_text()
    for chart in ("chart-pays", "chart-topologies", "chart-overrides"):
        box = page.locator(f"svg#{chart}").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60, chart
        assert page.locator(f"svg#{chart} rect").count() >= 2
    assert page.locator("svg#chart-pays g.bar").count() == 48
    shoot(page, "status-fr")
    page.goto(f"{example_live.url}/_status/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Territory status" in page.locator("h1").inner_text()
    shoot(page, "status-en")


def test_a_down_binding_shows_down_with_its_reason(page: Any, example_live: Live) -> None:
    # The breaker (one per gateway process) opens after 5 consecutive failures: one
    # kept-alive connection keeps the calls on one worker.
    with requests.Session() as session:
        for _ in range(6):
            session.get(f"{example_live.url}/metz/adresse/search?q=rue", timeout=10)
    page.goto(f"{example_live.url}/_status/")
    row = page.locator("tr[data-binding='metz/adresse']")
    assert row.get_attribute("data-status") == "down"
    text = row.inner_text()
    assert "indisponible" in text and "cannot reach 127.0.0.1" in text and "ouvert" in text
    assert "admin-password" not in page.content()
    shoot(page, "status-down")


def test_an_overdue_override_stands_out(page: Any, example_live: Live) -> None:
    page.goto(f"{example_live.url}/_status/")
    row = page.locator("#ledger tr[data-override='woippy/adresse']")
    assert "overdue" in (row.get_attribute("class") or "")
    assert row.locator(".badge").inner_text() == "revue dépassée"
    background = row.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background != "rgba(0, 0, 0, 0)"  # highlighted, not only worded
    assert "2026-01-31" in row.inner_text()


def test_a_dead_letter_is_shown_and_retried_with_the_form(page: Any, example_live: Live) -> None:
    job_id = example_live.dead_job
    page.goto(f"{example_live.url}/_status/#dead")
    assert page.locator(f"a[href='/_status/jobs/{job_id}?lang=fr']").count() == 1
    page.goto(f"{example_live.url}/_status/jobs/{job_id}")
    assert "the référentiel server refused the push" in page.content()
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/_status/\?lang=fr&retried=\d+#dead"))
    assert page.locator("p.notice").inner_text() == f"Tâche {job_id} remise en file."
    # The same POST without the token (a forged cross-site form) is refused.
    forged = requests.post(f"{example_live.url}/_status/jobs/{job_id}/retry", auth=ADMIN, data={"csrf": "x"},
                           timeout=10, allow_redirects=False)
    assert forged.status_code == 403 and forged.json()["err"] == 1


def test_no_serious_accessibility_violation(page: Any, example_live: Live) -> None:
    from tests.framework.gateway.axe import axe_script

    page.goto(f"{example_live.url}/_status/")
    page.add_script_tag(content=axe_script())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
