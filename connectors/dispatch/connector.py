"""The dispatch connector: routes a mutualised request to the entity responsible for it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.dispatch import territory as terr
from connectors.dispatch.answer import actor, describe, page_of, period
from connectors.dispatch.boundaries import BORDER_RULES, DEFAULT_TOLERANCE_M, Boundaries, BoundariesError, load
from connectors.dispatch.locate import Located, locate
from framework import (
    TRIAGE,
    BadRequest,
    Call,
    Decision,
    JobRun,
    NotFound,
    Param,
    Request,
    Setting,
    endpoint,
    job,
)

_INSEE = r"^(?:\d{5}|2[AB]\d{3})$"
LOCATION_KEYS = ("insee", "point", "address", "origin")
ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["category"],
    "additionalProperties": False,
    "properties": {
        "category": {"type": "string", "minLength": 1, "maxLength": 128,
                     "description": "the request's category, a key of the competence matrix"},
        "form_ref": {"type": "string", "maxLength": 255, "description": "the form's reference (slug/number)"},
        "summary": {"type": "string", "maxLength": 2000, "description": "a short summary for the inbox"},
        "form_url": {"type": "string", "maxLength": 2000, "pattern": "^https?://",
                     "description": "the citizen-facing URL of the form on the metropolis' instance"},
        "insee": {"type": "string", "pattern": _INSEE, "description": "the commune's INSEE code"},
        "point": {"type": "object", "required": ["lon", "lat"], "additionalProperties": False,
                  "properties": {"lon": {"type": "number", "minimum": -180, "maximum": 180},
                                 "lat": {"type": "number", "minimum": -90, "maximum": 90}},
                  "description": "where it is, WGS84"},
        "address": {"type": "string", "minLength": 3, "maxLength": 300, "description": "where it is, as typed"},
        "origin": {"type": "string", "minLength": 1, "maxLength": 64,
                   "description": "the commune the citizen came from: INSEE code or instance name"},
    },
}
ROUTE_EXAMPLE = {"category": "voirie", "form_ref": "signaler-un-nid-de-poule/42",
                 "summary": "Nid de poule devant le 3 rue Serpenoise",
                 "form_url": "https://demarches.metzmetropole.fr/voirie/signaler-un-nid-de-poule/42/",
                 "point": {"lon": 6.1757, "lat": 49.1193}}
ASSIGN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["request_id", "instance", "reason"],
    "additionalProperties": False,
    "properties": {
        "request_id": {"type": "integer", "minimum": 1},
        "instance": {"type": "string", "minLength": 1, "maxLength": 64,
                     "description": "the instance that will handle it"},
        "commune": {"type": "string", "pattern": _INSEE, "description": "the commune, if the agent knows it"},
        "reason": {"type": "string", "minLength": 3, "maxLength": 2000, "description": "why (kept in the history)"},
        "agent": {"type": "string", "maxLength": 200,
                  "description": "the agent's name or e-mail when the call is not a signed query with a user"},
    },
}


class Dispatch(terr.TerritoryConnector):
    """Mutualised requests of the territory: each one is routed to the entity
    responsible for it — by the commune's INSEE code, a point and the communes'
    boundaries, an address through the base_adresse binding, or the commune the
    citizen came from — and the competence matrix; what no referential decides waits
    in the first recipients' triage queue, where agents assign it by hand."""

    id = "dispatch"
    title = "Demandes mutualisées : aiguillage"

    competences = Setting(dict, {}, "competence matrix: category → 'commune' (the commune's instance), "
                          "'triage' (the territory's triage instance) or an instance name (the "
                          "metropolis, a syndicate…); a commune's exceptions are the 'competences' of "
                          "its inbox binding (a declared override)")
    first_recipients = Setting(dict, {}, "category → instance whose agents triage it by hand ('*': every "
                               "other category); default: [territory] triage")
    boundaries = Setting(str, "", "GeoJSON file of the communes' boundaries (WGS84), relative to "
                         "instances.toml; empty: points go to triage")
    boundaries_code_property = Setting(str, "code", "feature property holding the INSEE code")
    boundaries_name_property = Setting(str, "nom", "feature property holding the commune's name")
    on_border = Setting(str, "lowest_insee", "a point on a border shared by communes: 'lowest_insee' (the "
                        "smallest INSEE code, deterministic) or 'triage'", choices=BORDER_RULES)
    border_tolerance_m = Setting(float, DEFAULT_TOLERANCE_M, "a point this close (metres) to several "
                                 "communes' polygons is on their shared border (on_border decides)")
    geocoder = Setting(str, "adresse", "profile of this instance's base_adresse binding used for "
                       "addresses; empty: addresses go to triage")
    min_score = Setting(float, 0.6, "geocoder score under which an address goes to triage (0 to 1)")

    # -- the referentials -----------------------------------------------------------


    def referential(self) -> Boundaries | None:
        if not self.settings.boundaries:
            return None
        path = Path(self.ctx.base_dir, self.settings.boundaries)
        try:
            return load(path, self.settings.boundaries_code_property, self.settings.boundaries_name_property)
        except BoundariesError as exc:
            # `raccord check` reports it; a request is never refused for it: its point
            # goes to triage (reason no_match) like one without a referential.
            self.log.error("boundaries unusable, points go to triage: %s", exc)
            return None

    def _geocode(self, address: str) -> list[dict[str, Any]]:
        assert self.ctx.invoke is not None
        found: list[dict[str, Any]] = self.ctx.invoke(self.settings.geocoder, "search", {"q": address, "limit": 1})
        return found

    def _origin(self, origin: str) -> str | None:
        inst = self.territory.instances.get(origin)
        if inst is not None:
            return inst.insee[0] if len(inst.insee) == 1 else None
        return origin

    # -- deciding ---------------------------------------------------------------------

    def decide(self, category: str, location: Mapping[str, Any]) -> Decision:
        """Where a request of ``category`` at ``location`` goes (no side effect but the
        geocoder call)."""
        communes = terr.communes(self.territory)
        located = locate(location, communes, boundaries=self.referential(),
                         on_border=(self.settings.on_border, self.settings.border_tolerance_m),
                         geocode=self._geocode if self.settings.geocoder else None,
                         min_score=self.settings.min_score, origin_of=self._origin)
        if located.insee is None:
            return self._triage(category, located, str(located.reason))
        found = terr.responsible(self.territory, self.settings.competences, category, communes[located.insee])
        if found is None:
            return self._triage(category, located, "unknown_category")
        evidence = {**located.evidence, "rule": found.rule}
        return Decision("new", located.method, found.instance.name, located.insee, evidence)

    def _triage(self, category: str, located: Located, reason: str) -> Decision:
        queue = terr.triage_queue(self.territory, self.settings.first_recipients, category, self.ctx.instance.name)
        return Decision(TRIAGE, located.method, None, located.insee, dict(located.evidence), queue, reason,
                        pending_geocoder=located.geocoder_down)

    def _notify(self, request: Request) -> None:
        """Tell the responsible instance's bindings that declare the job."""
        if request.instance is None or request.status == TRIAGE:
            return
        targets = [(b.instance.name, b.profile.name) for b in self.territory.bindings_of(request.instance)
                   if "request_dispatched" in b.connector.jobs]
        from framework import notify_dispatched  # SQLAlchemy: when used, not at `raccord check`

        notify_dispatched(self.store.db, request, targets)

    # -- endpoints --------------------------------------------------------------------

    @endpoint(
        methods=["POST"], permission="can_access", body_schema=ROUTE_SCHEMA, body_example=ROUTE_EXAMPLE,
        description="Route a mutualised request: stores it and answers the responsible entity (name, "
                    "logo, colours, contact), how it was decided and the evidence, or the triage "
                    "queue it waits in.",
    )
    def route(self, call: Call) -> dict[str, Any]:
        body: Mapping[str, Any] = call.body or {}
        location = {k: body[k] for k in LOCATION_KEYS if body.get(k) not in (None, "")}
        decision = self.decide(str(body["category"]), location)
        fields = {**{k: body.get(k) for k in ("category", "form_ref", "summary", "form_url")}, "location": location}
        request = self.requests.create(self.ctx.instance.name, fields, decision, actor=actor(call, body))
        self._notify(request)
        return describe(self.territory, request)

    @endpoint(
        methods=["POST"], permission="triage", body_schema=ASSIGN_SCHEMA,
        body_example={"request_id": 1, "instance": "metz", "reason": "adresse hors BAN : rue privée de Metz",
                      "agent": "agent.triage@metzmetropole.fr"},
        description="Route a request of the triage queue by hand (who and why are kept in its history).",
    )
    def assign(self, call: Call) -> dict[str, Any]:
        body: Mapping[str, Any] = call.body or {}
        request = self._own(int(body["request_id"]))
        target = self.territory.instances.get(str(body["instance"]))
        if target is None or terr.inbox_binding(self.territory, target.name) is None:
            raise BadRequest(f"instance {body['instance']!r} has no inbox to receive the request",
                             hint="name an instance with a dispatch_inbox profile (GET triage lists the queue)")
        evidence = {**request.evidence, "reason": body["reason"], "rule": "manual"}
        decision = Decision("new", "manual", target.name, body.get("commune") or request.commune, evidence)
        done = self.requests.decide(request.id, decision, event="assigned", actor=actor(call, body),
                                    note=str(body["reason"]), expect_status=(TRIAGE,))
        if done is None:
            raise BadRequest(f"request {request.id} is not in triage any more (status {request.status!r})",
                             hint="reload the triage queue")
        self._notify(done)
        return describe(self.territory, done)

    @endpoint(
        permission="triage",
        params=[Param("queue", str, "only the queue of this instance (first recipients)", "metropole"),
                Param("reason", str, "only requests triaged for this reason", "low_score"),
                Param("limit", int, "page size (at most 200)", 50, default=50),
                Param("offset", int, "skip this many", 0, default=0)],
        description="The triage queue: requests no referential decided, oldest last.",
    )
    def triage(self, call: Call) -> list[dict[str, Any]]:
        limit, offset = page_of(call)
        page = self.requests.search(source=self.ctx.instance.name, status=TRIAGE, queue=call.params.get("queue"),
                                    limit=limit, offset=offset)
        items = [describe(self.territory, r) for r in page.items]
        reason = call.params.get("reason")
        return [i for i in items if reason is None or i["triage_reason"] == reason]

    @endpoint(
        permission="can_access",
        params=[Param("since", str, "first day (YYYY-MM-DD, included)", "2026-01-01"),
                Param("until", str, "last day (YYYY-MM-DD, included)", "2026-12-31")],
        description="Per category and commune: requests routed automatically and those that needed triage.",
    )
    def stats(self, call: Call) -> list[dict[str, Any]]:
        since, until = period(call.params.get("since"), call.params.get("until"))
        return self.requests.stats(since=since, until=until, source=self.ctx.instance.name)

    # -- jobs -------------------------------------------------------------------------

    @job(schedule="every 5m")
    def redispatch(self, run: JobRun) -> None:
        """Route again the requests triaged because the geocoder was down, once it answers."""
        waiting = self.requests.waiting_for_geocoder(self.ctx.instance.name)
        run.advance(0, total=len(waiting))
        for request in waiting:
            decision = self.decide(request.category, request.location)
            if decision.pending_geocoder:
                self.log.info("geocoder still down: %d request(s) wait", len(waiting))
                return
            done = self.requests.decide(request.id, decision, event="redispatched", actor="raccord (geocoder back)",
                                        expect_status=(TRIAGE,))
            if done is not None:
                self._notify(done)
            run.advance(1)

    def _own(self, request_id: int) -> Request:
        found = self.requests.get(request_id)
        if found is None or found.source != self.ctx.instance.name:
            raise NotFound(f"no request {request_id} in this territory's dispatch")
        return found
