"""The small territory of the cost tests, with its figures worked out by hand.

day rate 1 000 €; population split; floor 500 €; platform 2 + 1 days.
profiles (both on the toy connector):
  adresse   3 setup + 2 yearly → first year 5 days = 5 000 €, recurring 2 000 €
  paiement  2 setup + 0.5      → first year 2.5 days = 2 500 €, recurring   500 €
instances:
  metro    metropole, pop 6 000, own deployment,   adresse + paiement
  ville    commune,   pop 3 000, own deployment,   adresse + paiement, override on paiement
                                                   (1 setup + 0.5 yearly = 1 500 € / 500 €)
  hameau   commune,   pop 1 000, hosted_by metro,  adresse
  village  commune,   pop     0, hosted_by metro,  adresse
"""

from __future__ import annotations

from pathlib import Path

from framework.app import check_config
from framework.config.model import Territory
from framework.plugins import make_plugin_manager
from tests.framework.costs import toy

TOML = """
[territory]
name = "Petit territoire"

[costs]
day_rate_eur = 1000
split = "{split}"
floor_eur = {floor}
platform = {{ setup_days = 2, yearly_days = 1 }}

[profiles.adresse]
connector = "toy"
cost = {{ setup_days = 3, yearly_days = 2 }}

[profiles.paiement]
connector = "toy"
cost = {{ setup_days = 2, yearly_days = 0.5 }}

[instances.metro]
kind = "metropole"
population = 6000
weight = 3
profiles = ["adresse", "paiement"]

[instances.ville]
population = 3000
weight = 1
profiles = ["adresse", "paiement"]

[instances.ville.settings.paiement]
categories = ["voirie", "eclairage", "marche"]

[instances.ville.overrides.paiement]
reason = "the market's own categories"
owner = "ville DSI"
review_by = 2026-06-30
cost = {{ setup_days = 1, yearly_days = 0.5 }}

[instances.hameau]
population = 1000
weight = 1
hosted_by = "metro"
profiles = ["adresse"]

[instances.village]
population = 0
weight = 0
hosted_by = "metro"
profiles = ["adresse"]
"""


def load(tmp_path: Path, text: str | None = None, *, split: str = "population",
         floor: float = 500, plugins: tuple[object, ...] = ()) -> Territory:
    path = tmp_path / "instances.toml"
    path.write_text(text if text is not None else TOML.format(split=split, floor=floor), encoding="utf-8")
    pm = make_plugin_manager(plugins=[toy, *plugins], entry_points=False)
    territory, report, _ = check_config(str(path), pm)
    assert territory is not None and report.ok, [str(f) for f in report.errors]
    return territory


def euros(cents: int) -> float:
    return cents / 100
