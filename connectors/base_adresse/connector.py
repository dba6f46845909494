"""The base_adresse connector class: BAN search, reverse geocoding and street lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base_adresse import mapping
from framework import (
    BadRequest,
    Call,
    Connector,
    JobRun,
    Param,
    Setting,
    Unwrapped,
    UpstreamError,
    endpoint,
    extension,
    job,
)

TYPES = ("housenumber", "street", "locality", "municipality")
MAX_LIMIT = 50
MIN_QUERY = 3  # the BAN refuses (400) a text shorter than this
# w.c.s. geocoding (geocoding-services-base-url) asks format=json and reads Nominatim's
# shapes: a bare list for search, one object for reverse.
FORMATS = ("json", "jsonv2")
NOMINATIM_PARAMS = [
    Param("format", str, "json: answer as Nominatim does, for w.c.s.'s geocoding (search: a bare "
          "list; reverse: one object); absent: the data-source envelope", "json", choices=FORMATS),
    Param("accept-language", str, "accepted and ignored (the BAN answers in French)", "fr"),
]
ID_PARAM_DOC = ("ids of addresses this endpoint returned before (w.c.s. re-reads the chosen item "
                "by id; repeat id= or separate with commas): answered from the store, without "
                "calling the BAN")
UNABLE = {"error": "Unable to geocode"}  # Nominatim's answer when reverse finds nothing
_TEXT = {"type": ["string", "null"]}
ADDRESS_SCHEMA = {
    "type": "object",
    "description": "Nominatim's address names, read by w.c.s. to fill an address field",
    "properties": {k: _TEXT for k in ("road", "house_number", "postcode", "city", "citycode", "suburb",
                                      "country", "country_code")},
}
PLACE_SCHEMA = {
    "type": "object",
    "required": ["id", "display_name", "lat", "lon", "address"],
    "properties": {"id": {"type": "string"}, "display_name": {"type": "string"}, "lat": {"type": "number"},
                   "lon": {"type": "number"}, "address": ADDRESS_SCHEMA},
}
SEARCH_UNWRAPPED = {"description": "format=json: a bare list of places, as Nominatim answers (w.c.s. "
                    "geolocation reads lat, lon, display_name of the first)", "type": "array",
                    "items": PLACE_SCHEMA}
REVERSE_UNWRAPPED = {"description": "format=json: one place, as Nominatim answers, or "
                     '{"error": "Unable to geocode"} when nothing is found in the instance\'s communes',
                     "oneOf": [PLACE_SCHEMA, {"type": "object", "required": ["error"],
                                              "properties": {"error": {"type": "string"}}}]}
# Words of French way names, queried one by one to list a commune's streets: the
# search API needs a text of at least 3 characters and has no "list everything".
STREET_WORDS = ["rue", "avenue", "boulevard", "chemin", "route", "place", "allée", "impasse",
                "square", "quai", "sentier", "ruelle", "passage", "cour", "voie", "lotissement",
                "résidence", "cité", "clos", "esplanade", "promenade", "parc", "faubourg",
                "montée", "côte", "hameau", "lieu-dit", "grand"]


class BaseAdresse(Connector):
    """Addresses of the Base Adresse Nationale (api-adresse.data.gouv.fr) as w.c.s.
    data-source items, limited to the instance's communes (its INSEE codes), and the
    streets of those communes kept in the store by a daily job."""

    id = "base_adresse"
    title = "Base Adresse Nationale"

    service_url = Setting(str, "https://api-adresse.data.gouv.fr",
                          "root URL of the BAN API (its /search/ and /reverse/ are called)")
    citycodes = Setting(list, [], "INSEE codes answers must belong to; empty means the instance's "
                        "own insee codes (and no filter for an instance without any)",
                        variability="instance")
    limit = Setting(int, 10, f"default number of answers of search (at most {MAX_LIMIT})")
    streets_words = Setting(list, STREET_WORDS, "words searched (type=street, per commune) by the "
                            "sync_streets job to list a commune's streets")
    streets_limit = Setting(int, MAX_LIMIT, "answers asked per word and commune by sync_streets")

    # -- scope ------------------------------------------------------------------------

    def scope(self) -> frozenset[str]:
        """INSEE codes this binding answers for (empty: no filter)."""
        codes = self.settings.citycodes or self.ctx.instance.insee
        return frozenset(str(c) for c in codes)

    def _upstream_filter(self, scope: frozenset[str]) -> dict[str, str]:
        # The BAN filters by one citycode, and an arrondissement commune's addresses
        # carry the arrondissement's code: only a single plain commune filters upstream;
        # otherwise the connector asks for more and filters itself.
        if len(scope) == 1:
            (code,) = scope
            if mapping.arrondissements(code) == [code]:
                return {"citycode": code}
        return {}

    # -- extension points -------------------------------------------------------------

    @extension
    def format_label(self, properties: Mapping[str, Any]) -> str:
        """The ``text`` of an item, from the BAN properties of the answer."""
        return mapping.default_label(properties)

    # -- endpoints --------------------------------------------------------------------

    @endpoint(
        # Public data (the BAN is open data), read-only: w.c.s. data sources call it
        # unsigned from forms; the admin can close it per profile (docs/gateway.md).
        permission="open",
        description="Addresses matching a text, best first, within the instance's communes. "
                    "With format=json, a bare list as Nominatim answers (w.c.s. geocoding).",
        params=[
            Param("q", str, f"the address as typed; under {MIN_QUERY} characters (w.c.s. sends the "
                  "first keystroke) the answer is an empty list", "1 rue serpenoise metz"),
            Param("id", list, ID_PARAM_DOC, "57463_0420_00001"),
            Param("limit", int, f"at most this many answers (1 to {MAX_LIMIT}; default: the "
                  "'limit' setting)", 5),
            Param("lat", float, "latitude to favour answers near (with lon)", 49.1193),
            Param("lon", float, "longitude to favour answers near (with lat)", 6.1757),
            Param("type", str, "only answers of this kind", "housenumber", choices=TYPES),
            *NOMINATIM_PARAMS,
        ],
        datasource=True,
        unwrapped_schema=SEARCH_UNWRAPPED,
    )
    def search(self, call: Call) -> list[dict[str, Any]] | Unwrapped:
        items = self._search(call)
        if call.params.get("format"):
            return Unwrapped([i for i in items if i["lat"] is not None and i["lon"] is not None])
        return items

    def _search(self, call: Call) -> list[dict[str, Any]]:
        if call.params.get("id"):
            return self._remembered(call.params["id"])
        q = (call.params.get("q") or "").strip()
        if len(q) < MIN_QUERY or not q[0].isalnum():
            # Not a 400: w.c.s. autocompletes from the first character and would show
            # "could not load" until the third.
            return []
        limit = _limit(call.params.get("limit"), self.settings.limit)
        query: dict[str, Any] = {"q": q}
        lat, lon = call.params.get("lat"), call.params.get("lon")
        if (lat is None) != (lon is None):
            raise BadRequest("parameters 'lat' and 'lon' go together", hint="give both, or neither")
        if lat is not None:
            query.update(lat=lat, lon=lon)
        if call.params.get("type"):
            query["type"] = call.params["type"]
        return self._ask("search", query, limit)

    @endpoint(
        permission="open",
        description="The address nearest to a point, if it lies within the instance's communes. "
                    "With format=json, one object as Nominatim answers (w.c.s. reverse geocoding).",
        params=[
            Param("lat", float, "latitude (WGS84); required unless id is given", 49.1193),
            Param("lon", float, "longitude (WGS84); required unless id is given", 6.1757),
            Param("type", str, "only answers of this kind", "housenumber", choices=TYPES),
            Param("id", list, ID_PARAM_DOC, "57463_0420_00001"),
            *NOMINATIM_PARAMS,
            Param("zoom", int, "accepted and ignored (w.c.s. sends 18: an address)", 18),
            Param("addressdetails", str, "accepted and ignored: address is always given", "1"),
        ],
        datasource=True,
        unwrapped_schema=REVERSE_UNWRAPPED,
    )
    def reverse(self, call: Call) -> list[dict[str, Any]] | Unwrapped:
        items = self._reverse(call)
        if call.params.get("format"):
            return Unwrapped(items[0] if items else UNABLE)
        return items

    def _reverse(self, call: Call) -> list[dict[str, Any]]:
        if call.params.get("id"):
            return self._remembered(call.params["id"])
        lat, lon = call.params.get("lat"), call.params.get("lon")
        if lat is None or lon is None:
            raise BadRequest("parameters 'lat' and 'lon' are required (or 'id')", hint="e.g. lat=49.1193&lon=6.1757")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadRequest(f"({lat}, {lon}) is not a WGS84 point", hint="lat in [-90, 90], lon in [-180, 180]")
        query: dict[str, Any] = {"lat": lat, "lon": lon}
        if call.params.get("type"):
            query["type"] = call.params["type"]
        return self._ask("reverse", query, 1)

    @endpoint(
        permission="open",
        description="Streets of the instance's communes, from the store filled by sync_streets "
                    "(never calls the BAN).",
        params=[
            Param("q", str, "words the street's label must contain (accents and case ignored)", "serpenoise"),
            Param("id", list, "BAN identifiers of streets (repeat id= or separate with commas)",
                  "57463_6315"),
            Param("limit", int, "at most this many streets", 20),
        ],
        datasource=True,
    )
    def streets(self, call: Call) -> list[dict[str, Any]]:
        if call.params.get("id"):
            return self._remembered(call.params["id"], "streets")
        limit = call.params.get("limit")
        if limit is not None and limit < 0:
            raise BadRequest("parameter 'limit' must not be negative")
        return self.store.search("streets", call.params.get("q"), limit)

    # -- jobs -------------------------------------------------------------------------

    @job(schedule="daily")
    def sync_streets(self, run: JobRun) -> None:
        """Fetch the streets of each commune in scope and replace the stored list."""
        codes = sorted({code for c in self.scope() for code in mapping.arrondissements(c)})
        if not codes:
            self.log.warning("no INSEE code in scope: set the instance's insee or 'citycodes'")
        run.advance(0, total=len(codes))
        streets: dict[str, dict[str, Any]] = {}
        for code in codes:
            for item in self._streets_of(code):
                streets.setdefault(item["id"], item)
            run.advance(1)
        count = self.store.replace("streets", ((k, v["text"], v) for k, v in streets.items()))
        self.log.info("%d streets stored for %d commune(s)", count, len(codes))

    def _streets_of(self, code: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        scope = frozenset({code})
        for word in self.settings.streets_words:
            query = {"q": word, "type": "street", "citycode": code,
                     "limit": max(1, min(self.settings.streets_limit, MAX_LIMIT))}
            features = self._features("search", query)
            items.extend(i for i in mapping.to_items(features, scope, self.format_label)
                         if i["type"] == "street")
        return items

    # -- upstream ---------------------------------------------------------------------

    def _ask(self, path: str, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        scope = self.scope()
        upstream = self._upstream_filter(scope)
        query.update(upstream)
        # Filtering here drops answers: ask for more so `limit` in-scope ones remain.
        query["limit"] = limit if upstream or not scope else MAX_LIMIT
        items = mapping.to_items(self._features(path, query), scope, self.format_label)[:limit]
        # Remembered so that w.c.s. can read the chosen item back by its id (the BAN
        # itself cannot look an address up by id).
        self.store.put(ADDRESSES, ((i["id"], i["text"], i) for i in items if i.get("id")))
        return items

    def _remembered(self, idents: list[str], collection: str = "") -> list[dict[str, Any]]:
        """The stored items of ``idents``, in the order asked, unknown ones left out."""
        items = []
        for ident in dict.fromkeys(idents):
            found = self.store.get(collection or ADDRESSES, ident)
            if found is not None:
                items.append(mapping.with_address(found))
        return items

    def _features(self, path: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        url = f"{self.settings.service_url.rstrip('/')}/{path}/"
        payload = self.http.get_json(url, params=query)
        problem = mapping.errors_in(payload)
        if problem is not None:
            raise UpstreamError(f"the BAN answered {problem}",
                                hint="check the service_url setting: it must be the BAN API's root")
        features: list[dict[str, Any]] = payload["features"]
        return features

    def health_check(self) -> None:
        self._features("search", {"q": "metz", "limit": 1})


ADDRESSES = "addresses"  # store collection of the items served, by id


def _limit(asked: int | None, default: int) -> int:
    limit = default if asked is None else asked
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"parameter 'limit': {limit} is out of range", hint=f"give 1 to {MAX_LIMIT}")
    return limit
