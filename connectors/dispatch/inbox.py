"""The inbox connector: each instance's view of the mutualised requests dispatched to it.

Every instance that may receive requests binds a profile of this connector (the
example calls it ``demandes``). The binding reads the territory's shared requests
table, always scoped to its own instance: a commune never sees another's requests,
and the multi-communal instance's clients see a hosted commune's inbox only when that
commune grants them (``grants = ["communes.wcs"]``) — the gateway's usual rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connectors.dispatch import territory as terr
from connectors.dispatch.answer import actor, describe, page_of, period
from framework import (
    INSTANCE_STATUSES,
    STATUSES,
    TRIAGE,
    BadRequest,
    Call,
    Decision,
    NotFound,
    Param,
    Setting,
    endpoint,
    fold,
)

if TYPE_CHECKING:
    pass

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {
        "status": {"enum": list(INSTANCE_STATUSES),
                   "description": "the request's new status; 'reassigned' hands it back to triage"},
        "note": {"type": "string", "maxLength": 2000, "description": "why (kept in the history)"},
        "agent": {"type": "string", "maxLength": 200,
                  "description": "the agent's name or e-mail when the call is not a signed query with a user"},
    },
}


class DispatchInbox(terr.TerritoryConnector):
    """The inbox of an instance: the mutualised requests dispatched to it, with their
    history and the link to the form on the metropolis' instance where agents handle
    them; the instance moves them on (received, in progress, done, refused) or hands
    them back to triage (reassigned)."""

    id = "dispatch_inbox"
    title = "Demandes mutualisées : boîte de réception"

    competences = Setting(dict, {}, "this instance's exceptions to the territory's competence matrix "
                          "(category → 'commune', 'triage' or an instance name); set per instance, it is "
                          "a declared override")


    @endpoint(
        methods=["GET", "POST"], permission="inbox", pattern=r"(?P<id>[0-9]{1,18})?",
        params=[Param("status", str, "only requests with this status", "new", choices=STATUSES),
                Param("category", str, "only this category", "voirie"),
                Param("since", str, "created on or after this day (YYYY-MM-DD)", "2026-01-01"),
                Param("until", str, "created on or before this day (YYYY-MM-DD)", "2026-12-31"),
                Param("q", str, "words the text must contain (accents and case ignored)", "nid de poule"),
                Param("id", str, "one request by id (w.c.s. reads the chosen item back)", "1"),
                Param("limit", int, "page size (at most 200)", 50, default=50),
                Param("offset", int, "skip this many (pagination)", 0, default=0)],
        body_schema=STATUS_SCHEMA,
        body_example={"status": "in_progress", "note": "équipe voirie prévenue", "agent": "agent@metz.fr"},
        datasource=True,
        description="GET: the requests dispatched to this instance, newest first, as w.c.s. data-source "
                    "items ({id, text, …}); GET inbox/<id>: one request with its history and the link "
                    "to its form; POST inbox/<id> {status, note}: move it on.",
    )
    def inbox(self, call: Call) -> Any:
        ident = call.path_args.get("id")
        if call.method == "POST":
            if ident is None:
                raise BadRequest("POST needs a request: inbox/<id>", hint="e.g. POST …/inbox/12 {\"status\": …}")
            return self._update(int(ident), call)
        if ident is not None:
            return self._one(int(ident))
        if call.params.get("id"):
            try:
                found = self.requests.get(int(call.params["id"]), instance=self.ctx.instance.name)
            except ValueError:
                return []
            return [describe(self.territory, found)] if found else []
        return self._list(call)

    def _list(self, call: Call) -> list[dict[str, Any]]:
        limit, offset = page_of(call)
        since, until = period(call.params.get("since"), call.params.get("until"))
        page = self.requests.search(instance=self.ctx.instance.name, status=call.params.get("status"),
                                    category=call.params.get("category"), since=since, until=until,
                                    limit=limit, offset=offset)
        items = [describe(self.territory, r) for r in page.items]
        words = fold(call.params.get("q") or "").split()
        return [i for i in items if all(w in fold(i["text"]) for w in words)]

    def _one(self, request_id: int) -> dict[str, Any]:
        found = self.requests.get(request_id, instance=self.ctx.instance.name)
        if found is None:
            raise NotFound(f"no request {request_id} in the inbox of {self.ctx.instance.name}")
        return describe(self.territory, found, with_history=True)

    def _update(self, request_id: int, call: Call) -> dict[str, Any]:
        body: Mapping[str, Any] = call.body or {}
        mine = self.ctx.instance.name
        found = self.requests.get(request_id, instance=mine)
        if found is None:
            raise NotFound(f"no request {request_id} in the inbox of {mine}")
        status, note, who = str(body["status"]), body.get("note"), actor(call, body)
        if status != "reassigned":
            done = self.requests.set_status(request_id, mine, status, actor=who, note=note)
        else:
            done = self.requests.decide(request_id, self._back_to_triage(found.source, found.category,
                                                                         found.commune, found.evidence, mine),
                                        event="reassigned", actor=who, note=note, expect_instance=mine)
        if done is None:
            raise NotFound(f"no request {request_id} in the inbox of {mine}")
        return describe(self.territory, done, with_history=True)

    def _back_to_triage(self, source: str, category: str, commune: str | None,
                        evidence: Mapping[str, Any], mine: str) -> Decision:
        dispatch = terr.dispatch_binding(self.territory, source)
        recipients = dispatch.value("first_recipients") if dispatch and "first_recipients" in dispatch.settings else {}
        queue = terr.triage_queue(self.territory, recipients, category, source)
        return Decision(TRIAGE, None, None, commune, {**evidence, "reassigned_by": mine}, queue, "reassigned")
