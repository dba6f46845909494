"""base_adresse against REAL BAN answers (tests/data/ban, see tests/data/SOURCES.md:
api-adresse.data.gouv.fr responses, ODbL/Licence Ouverte, collected by the geocoder
and demarches-simplifiees projects), replayed with ``responses``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from connectors.base_adresse.mapping import arrondissements, commune_code, in_scope
from framework import BadRequest, JobRun, UpstreamError, UpstreamTimeout
from framework.app import Raccord
from framework.testing import call, make_raccord

BAN = Path(__file__).resolve().parent.parent / "data" / "ban"
URL = "https://ban.test"
SEARCH = re.compile(rf"{URL}/search/.*")
REVERSE = re.compile(rf"{URL}/reverse/.*")


def ban(name: str) -> Any:
    return json.loads((BAN / name).read_text(encoding="utf-8"))


PARIS = ban("geocoder_ban_data_gouv_fr_paris.json")
PARIS_NEW = ban("demarches_simplifiees_api_address_search_paris.json")
NONE = ban("geocoder_ban_data_gouv_fr_no_results.json")
REVERSE_94 = ban("geocoder_ban_data_gouv_fr_reverse.json")
TOUDIC = ban("geocoder_ban_data_gouv_fr_rue_yves_toudic.json")

TERRITORY = f"""
[territory]
name = "Test"

[profiles.adresse]
connector = "base_adresse"

[profiles.adresse.settings]
service_url = "{URL}"
limit = 10
streets_words = ["rue", "place"]

[instances.partout]
name = "No INSEE scope"
profiles = ["adresse"]

[instances.paris]
name = "Paris"
insee = ["75056"]
profiles = ["adresse"]

[instances.paris10]
name = "Paris 10e"
profiles = ["adresse"]

[instances.paris10.settings.adresse]
citycodes = ["75110"]

[instances.chevilly]
name = "Chevilly-Larue"
insee = ["94021"]
profiles = ["adresse"]

[instances.courpiere]
name = "Courpière"
insee = ["63125"]
profiles = ["adresse"]

[instances.metz]
name = "Metz"
insee = ["57463"]
profiles = ["adresse"]
"""


@pytest.fixture
def raccord(tmp_path: Path) -> Iterator[Raccord]:
    r = make_raccord(TERRITORY, tmp_path)
    yield r
    r.close()


@pytest.fixture
def ban_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


# -- search -----------------------------------------------------------------------------


def test_search_without_scope_returns_every_answer_as_items(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=PARIS_NEW)
    items = call(raccord, "partout/adresse/search", q="paris")
    assert [i["id"] for i in items] == [f["properties"]["id"] for f in PARIS_NEW["features"]]
    first = items[0]
    assert first["text"] == "Paris"
    assert (first["citycode"], first["postcode"], first["type"]) == ("75056", "75001", "municipality")
    assert (first["lat"], first["lon"]) == (48.859, 2.347)
    assert first["x"] == 652089.7 and first["importance"] == 0.67505
    assert first["context"] == "75, Paris, Île-de-France"
    # Keys are the same on every item, None where the BAN said nothing.
    assert first["street"] is None and first["housenumber"] is None
    assert all(set(i) == set(first) for i in items)


def test_search_sends_query_limit_and_bias_to_the_ban(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=PARIS, match=[matchers.query_param_matcher(
        {"q": "paris", "limit": "3", "lat": "48.85", "lon": "2.35", "type": "municipality"})])
    items = call(raccord, "partout/adresse/search", q="paris", limit="3", lat="48.85", lon="2.35",
                 type="municipality")
    assert len(items) == 3


def test_search_scoped_to_one_commune_filters_upstream_and_here(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=PARIS, match=[matchers.query_param_matcher(
        {"q": "paris", "limit": "10", "citycode": "63125"})])
    items = call(raccord, "courpiere/adresse/search", q="paris")
    # The BAN (here: a replayed answer that ignores the filter) may still send others.
    assert [(i["text"], i["citycode"]) for i in items] == [("Paris 63120 Courpière", "63125")]


def test_search_zero_results_is_an_empty_list(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=NONE)
    assert call(raccord, "paris/adresse/search", q="oozpuip") == []


def test_arrondissement_citycode_belongs_to_its_commune(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=TOUDIC)
    items = call(raccord, "paris/adresse/search", q="13 rue yves toudic 75010 Paris")
    assert len(items) == 1
    item = items[0]
    assert item["text"] == "13 Rue Yves Toudic 75010 Paris"
    assert (item["citycode"], item["commune_code"]) == ("75110", "75056")
    assert (item["housenumber"], item["street"]) == ("13", "Rue Yves Toudic")
    # A commune with arrondissements cannot filter upstream by its own code.
    assert "citycode" not in ban_api.calls[0].request.params


def test_arrondissement_scope_accepts_only_that_arrondissement(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=TOUDIC)
    assert len(call(raccord, "paris10/adresse/search", q="rue yves toudic")) == 1
    ban_api.get(SEARCH, json=PARIS_NEW)
    # "Paris" the municipality (75056) is not inside Paris 10e (75110).
    assert call(raccord, "paris10/adresse/search", q="paris") == []


def test_missing_postcode_and_citycode(raccord: Raccord, ban_api: Any) -> None:
    answer = json.loads(json.dumps(TOUDIC))
    del answer["features"][0]["properties"]["postcode"]
    lost = json.loads(json.dumps(answer["features"][0]))
    del lost["properties"]["citycode"]
    lost["properties"]["id"] = "lost"
    answer["features"].append(lost)
    ban_api.get(SEARCH, json=answer)
    items = call(raccord, "paris/adresse/search", q="rue yves toudic")
    assert [(i["id"], i["postcode"]) for i in items] == [("ADRNIVX_0000000270748760", None)]
    # Without a scope, an answer without citycode is kept, with None for it.
    items = call(raccord, "partout/adresse/search", q="rue yves toudic")
    assert [(i["id"], i["citycode"], i["commune_code"]) for i in items][1] == ("lost", None, None)


def test_limit_is_applied_after_scoping(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=PARIS_NEW)
    assert len(call(raccord, "partout/adresse/search", q="paris", limit="2")) == 2


@pytest.mark.parametrize("q", ["", "3", "ru", "  -rue"])
def test_a_query_too_short_for_the_ban_is_an_empty_list_without_calling(raccord: Raccord, ban_api: Any,
                                                                        q: str) -> None:
    # w.c.s. autocompletes from the first keystroke: a 400 would show "could not load".
    assert call(raccord, "paris/adresse/search", q=q) == []
    assert len(ban_api.calls) == 0


@pytest.mark.parametrize("params", [{"q": "rue", "limit": "0"},
                                    {"q": "rue", "limit": "51"}, {"q": "rue", "lat": "48.8"}])
def test_bad_search_parameters_are_refused_before_calling(raccord: Raccord, ban_api: Any,
                                                          params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        call(raccord, "paris/adresse/search", **params)
    assert len(ban_api.calls) == 0


# -- reverse ----------------------------------------------------------------------------


def test_reverse_inside_scope(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(REVERSE, json=REVERSE_94, match=[matchers.query_param_matcher(
        {"lat": "48.770639", "lon": "2.364375", "citycode": "94021", "limit": "1"})])
    items = call(raccord, "chevilly/adresse/reverse", lat="48.770639", lon="2.364375")
    assert len(items) == 1
    item = items[0]
    assert item["text"] == "4 Rue du Lieutenant Alain le Coz 94550 Chevilly-Larue"
    assert (item["street"], item["housenumber"], item["distance"]) == ("Rue du Lieutenant Alain le Coz", "4", 23)
    assert (item["lat"], item["lon"]) == (48.770639, 2.364375)


def test_reverse_outside_scope_is_empty(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(REVERSE, json=REVERSE_94)
    assert call(raccord, "paris/adresse/reverse", lat="48.770639", lon="2.364375") == []


def test_reverse_needs_a_real_point(raccord: Raccord) -> None:
    with pytest.raises(BadRequest, match="lat"):
        call(raccord, "paris/adresse/reverse", lon="2.3")
    with pytest.raises(BadRequest, match="WGS84"):
        call(raccord, "paris/adresse/reverse", lat="148.7", lon="2.3")


# -- upstream failures ------------------------------------------------------------------


def test_html_answer_is_an_upstream_error(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, body="<html><body>Maintenance</body></html>", content_type="text/html")
    with pytest.raises(UpstreamError) as caught:
        call(raccord, "paris/adresse/search", q="rue")
    assert caught.value.status == 502
    assert "text/html" in caught.value.message and "service URL" in (caught.value.hint or "")


def test_json_that_is_not_a_feature_collection_is_an_upstream_error(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json={"status": "ok"})
    with pytest.raises(UpstreamError, match="features"):
        call(raccord, "paris/adresse/search", q="rue")


def test_server_error_is_an_upstream_error(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, status=500, body="busy")  # 500: not retried
    with pytest.raises(UpstreamError, match="500"):
        call(raccord, "paris/adresse/search", q="rue")


def test_timeout_is_upstream_timeout(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(UpstreamTimeout) as caught:
        call(raccord, "paris/adresse/search", q="rue")
    assert caught.value.status == 504 and "ban.test" in caught.value.message


# -- streets ----------------------------------------------------------------------------

STREETS_TERRITORY = f"""
[territory]
name = "Test"

[profiles.adresse]
connector = "base_adresse"

[profiles.adresse.settings]
service_url = "{URL}"
streets_words = ["rue", "place"]

[instances.metz]
name = "Metz"
insee = ["57463"]
profiles = ["adresse"]

[instances.woippy]
name = "Woippy"
insee = ["57751"]
profiles = ["adresse"]
"""


def street(citycode: str, sid: str, name: str, postcode: str, city: str) -> dict[str, Any]:
    """A type=street feature shaped like the BAN's (see demarches_simplifiees_… fixture)."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.17, 49.11]},
            "properties": {"label": f"{name} {postcode} {city}", "score": 0.9, "id": sid, "type": "street",
                           "name": name, "postcode": postcode, "citycode": citycode, "city": city,
                           "context": "57, Moselle, Grand Est", "importance": 0.5}}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "version": "draft", "features": list(features)}


def fake_streets(mock: responses.RequestsMock) -> None:
    metz = {"rue": collection(street("57463", "57463_6315", "Rue Serpenoise", "57000", "Metz"),
                              street("57463", "57463_0400", "Rue des Allemands", "57000", "Metz"),
                              # the BAN may answer a neighbour; the job keeps only its commune
                              street("57751", "57751_0100", "Rue de Metz", "57140", "Woippy")),
            "place": collection(street("57463", "57463_5010", "Place Saint-Étienne", "57000", "Metz"),
                                street("57463", "57463_6315", "Rue Serpenoise", "57000", "Metz"))}
    woippy = {"rue": collection(street("57751", "57751_0100", "Rue de Metz", "57140", "Woippy")),
              "place": collection()}
    for code, answers in (("57463", metz), ("57751", woippy)):
        for word, answer in answers.items():
            mock.get(SEARCH, json=answer, match=[matchers.query_param_matcher(
                {"q": word, "type": "street", "citycode": code, "limit": "50"})])


def test_sync_streets_fills_the_store_and_streets_serves_it(tmp_path: Path, database_url: str) -> None:
    r = make_raccord(STREETS_TERRITORY, tmp_path, database_url=database_url)
    try:
        bound = r.bound("metz", "adresse")
        progress: list[tuple[int, int | None]] = []
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            fake_streets(mock)
            bound.jobs["sync_streets"].func(bound.connector, JobRun(progress=lambda d, t: progress.append((d, t))))
            assert len(mock.calls) == 2  # two words × one commune
        assert progress[-1] == (1, 1)
        with responses.RequestsMock():  # any call upstream would fail: none is made
            everything = call(r, "metz/adresse/streets")
            assert [s["text"] for s in everything] == [
                "Place Saint-Étienne 57000 Metz", "Rue des Allemands 57000 Metz", "Rue Serpenoise 57000 Metz"]
            assert [s["id"] for s in call(r, "metz/adresse/streets", q="saint etienne")] == ["57463_5010"]
            assert call(r, "metz/adresse/streets", id="57463_6315")[0]["name"] == "Rue Serpenoise"
            assert call(r, "metz/adresse/streets", id="57751_0100") == []
            assert len(call(r, "metz/adresse/streets", limit="1")) == 1
    finally:
        r.close()


def test_streets_of_two_instances_do_not_mix(tmp_path: Path, database_url: str) -> None:
    r = make_raccord(STREETS_TERRITORY, tmp_path, database_url=database_url)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            fake_streets(mock)
            for name in ("metz", "woippy"):
                bound = r.bound(name, "adresse")
                bound.jobs["sync_streets"].func(bound.connector, JobRun())
        assert [s["id"] for s in call(r, "woippy/adresse/streets")] == ["57751_0100"]
        assert "57751_0100" not in [s["id"] for s in call(r, "metz/adresse/streets", q="metz")]
        assert call(r, "woippy/adresse/streets", q="serpenoise") == []
        # A second sync replaces, never appends.
        with responses.RequestsMock() as mock:
            mock.get(SEARCH, json=collection())
            bound = r.bound("woippy", "adresse")
            bound.jobs["sync_streets"].func(bound.connector, JobRun())
        assert call(r, "woippy/adresse/streets") == []
        assert len(call(r, "metz/adresse/streets")) == 3
    finally:
        r.close()


def test_sync_of_an_arrondissement_commune_asks_each_arrondissement(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=collection())
    bound = raccord.bound("paris", "adresse")
    run = JobRun()
    bound.jobs["sync_streets"].func(bound.connector, run)
    asked = {c.request.params["citycode"] for c in ban_api.calls}
    assert asked == {f"751{n:02d}" for n in range(1, 21)}
    assert (run.done, run.total) == (20, 20)


def test_streets_before_any_sync_is_empty(raccord: Raccord) -> None:
    assert call(raccord, "paris/adresse/streets", q="rue") == []


# -- the mapping's rules ----------------------------------------------------------------


def test_arrondissement_codes() -> None:
    assert commune_code("75110") == "75056"
    assert commune_code("69383") == "69123"
    assert commune_code("13216") == "13055"
    assert commune_code("57463") == "57463"
    assert commune_code("75121") == "75121"  # no 21st arrondissement
    assert len(arrondissements("13055")) == 16 and arrondissements("57463") == ["57463"]
    assert in_scope("75110", frozenset({"75056"}))
    assert not in_scope("75056", frozenset({"75110"}))
    assert in_scope(None, frozenset()) and not in_scope(None, frozenset({"57463"}))


# -- reading a chosen item back by id (what w.c.s. does when it shows a saved form) ---------


def test_items_served_can_be_read_back_by_id_without_calling_the_ban(tmp_path: Path, database_url: str) -> None:
    r = make_raccord(TERRITORY, tmp_path, database_url=database_url)
    try:
        with responses.RequestsMock() as mock:
            mock.get(SEARCH, json=PARIS_NEW)
            served = call(r, "partout/adresse/search", q="paris")
            mock.get(SEARCH, json=PARIS_NEW)
            call(r, "partout/adresse/search", q="paris")  # served twice: stored once, updated
            mock.get(REVERSE, json=REVERSE_94)
            nearest = call(r, "chevilly/adresse/reverse", lat="48.76", lon="2.35")
            calls = len(mock.calls)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as silent:
            chosen = served[1]
            assert call(r, "partout/adresse/search", id=chosen["id"]) == [chosen]
            assert call(r, "chevilly/adresse/reverse", id=nearest[0]["id"]) == nearest
            assert call(r, "partout/adresse/search", id="75056_nowhere") == []
            # Another instance never sees what was served to this one.
            assert call(r, "paris/adresse/search", id=chosen["id"]) == []
            assert len(silent.calls) == 0
        assert calls == 3
    finally:
        r.close()


def test_search_without_q_or_id_is_empty_and_reverse_needs_a_point(raccord: Raccord) -> None:
    assert call(raccord, "partout/adresse/search") == []
    assert call(raccord, "partout/adresse/search", q="", id="") == []  # w.c.s.'s empty templates
    with pytest.raises(BadRequest, match="'lat' and 'lon' are required"):
        call(raccord, "partout/adresse/reverse", lat="", lon="")
    with pytest.raises(BadRequest, match="'lat' and 'lon' are required"):
        call(raccord, "partout/adresse/reverse", lat="48.8")


def test_check_reports_out_of_range_limits_and_bad_citycodes_with_lines(tmp_path: Path) -> None:
    from framework.testing import check_text

    text = TERRITORY.replace("limit = 10", "limit = 80").replace(
        'citycodes = ["75110"]', 'citycodes = [75110, "7511"]')
    report = check_text(text, tmp_path)
    messages = [str(f) for f in report.errors]
    assert any("instances.toml:10: profiles.adresse.settings.limit: limit = 80" in m for m in messages), messages
    assert sum(":27: instances.paris10.settings.adresse.citycodes:" in m and "is not an INSEE commune code" in m
               for m in messages) == 2, messages
    assert len(messages) == 3, messages  # the profile's limit once, not once per instance


# -- what w.c.s. reads: Nominatim shapes and address objects ----------------------------

METZ = ban("metz_rue_serpenoise_search.json")
METZ_REVERSE = ban("metz_reverse.json")
NO_POSTCODE = ban("rue_yves_toudic_without_postcode.json")


def test_items_carry_an_address_object_for_wcs_address_fields(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=METZ)
    items = call(raccord, "metz/adresse/search", q="1 rue serpenoise metz")
    assert [i["id"] for i in items] == ["57463_6315_00001", "57463_6315_00011"]  # Montigny's is out
    assert items[0]["address"] == {"road": "Rue Serpenoise", "house_number": "1", "postcode": "57000",
                                   "city": "Metz", "citycode": "57463", "suburb": None,
                                   "country": "France", "country_code": "fr"}
    assert items[0]["display_name"] == items[0]["text"] == "1 Rue Serpenoise 57000 Metz"


def test_a_street_or_municipality_has_the_road_it_has(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=PARIS_NEW)
    items = {i["type"]: i for i in reversed(call(raccord, "partout/adresse/search", q="paris"))}  # firsts
    assert items["street"]["address"]["road"] == "Paris Foret" and items["street"]["address"]["house_number"] is None
    assert items["municipality"]["address"]["road"] is None
    assert items["municipality"]["address"]["city"] == "Paris"


def test_an_answer_without_postcode_has_a_null_postcode(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=NO_POSTCODE)
    [item] = call(raccord, "paris/adresse/search", q="13 rue yves toudic")
    assert item["address"]["postcode"] is None and item["postcode"] is None
    assert (item["address"]["road"], item["address"]["citycode"]) == ("Rue Yves Toudic", "75110")


def test_format_json_is_nominatims_bare_list_and_single_object(raccord: Raccord, ban_api: Any) -> None:
    from framework import Unwrapped

    ban_api.get(SEARCH, json=METZ)
    found = call(raccord, "metz/adresse/search", q="1 rue serpenoise metz", format="json")
    assert isinstance(found, Unwrapped) and [p["id"] for p in found.data] == ["57463_6315_00001", "57463_6315_00011"]
    ban_api.get(REVERSE, json=METZ_REVERSE)
    place = call(raccord, "metz/adresse/reverse", lat="49.117355", lon="6.175826", format="json", zoom="18",
                 addressdetails="1", **{"accept-language": "fr"})
    assert isinstance(place, Unwrapped) and place.data["address"]["house_number"] == "1"
    ban_api.get(REVERSE, json=REVERSE_94)  # Chevilly-Larue: not Metz
    nothing = call(raccord, "metz/adresse/reverse", lat="48.77", lon="2.36", format="json")
    assert isinstance(nothing, Unwrapped) and nothing.data == {"error": "Unable to geocode"}
    assert call(raccord, "metz/adresse/search", q="ru", format="json") == Unwrapped([])


def test_several_ids_read_back_in_the_order_asked(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=METZ)
    served = call(raccord, "metz/adresse/search", q="1 rue serpenoise metz")
    both = call(raccord, "metz/adresse/search", id=[served[1]["id"], "nowhere", served[0]["id"]])
    assert both == [served[1], served[0]]


def test_items_stored_before_the_address_object_get_it_when_read_back(raccord: Raccord, ban_api: Any) -> None:
    ban_api.get(SEARCH, json=METZ)
    served = call(raccord, "metz/adresse/search", q="1 rue serpenoise metz")[0]
    old = {k: v for k, v in served.items() if k not in ("address", "display_name")}
    raccord.bound("metz", "adresse").connector.store.put("addresses", [(old["id"], old["text"], old)])
    assert call(raccord, "metz/adresse/search", id=old["id"]) == [served]


def test_openapi_shows_both_answers_of_search_and_reverse(raccord: Raccord) -> None:
    from framework.gateway.metadata import openapi

    paths = openapi(raccord, "metz")["paths"]
    for name, kind in (("search", "array"), ("reverse", None)):
        op = paths[f"/adresse/{name}"]["get"]
        envelope, bare = op["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
        assert envelope == {"$ref": "#/components/schemas/Success"} and "format=json" in bare["description"]
        assert bare.get("type") == kind
        assert any(p["name"] == "format" and p["schema"]["enum"] == ["json", "jsonv2"] for p in op["parameters"])
        assert next(p for p in op["parameters"] if p["name"] == "id")["schema"]["type"] == "array"
