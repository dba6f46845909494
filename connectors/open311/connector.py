"""The open311 connector: a commune's ticketing software through GeoReport v2."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from connectors.open311 import follow, georeport
from framework import (
    REQUIRED,
    Accepted,
    BadRequest,
    Call,
    Connector,
    Forbidden,
    JobRun,
    NotFound,
    Param,
    RaccordError,
    Setting,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
    endpoint,
    job,
)

_TEXT = {"type": "string", "maxLength": 4000}
CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["service_code"],
    "additionalProperties": False,
    "properties": {
        "service_code": {"type": "string", "minLength": 1, "maxLength": 200},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 200,
                        "description": "the caller's id of the request (w.c.s. form number): the idempotency key"},
        "on_behalf_of": {"type": "string", "description": "the hosted instance the request belongs to"},
        "description": _TEXT,
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": _TEXT, "address_id": _TEXT,
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "maxLength": 320},
        "first_name": _TEXT, "last_name": _TEXT, "phone": _TEXT, "device_id": _TEXT, "account_id": _TEXT,
        "media_url": _TEXT,
        "attributes": {"type": "object", "additionalProperties": {
            "type": ["string", "number", "boolean", "array"]}},
        "attachments": {"type": "array", "maxItems": 5, "items": {
            "type": "object", "required": ["content"], "properties": {
                "filename": {"type": "string"}, "content_type": {"type": "string"},
                "content": {"type": "string", "description": "base64"}}}},
        "notify": {"type": "boolean", "description": "tell the citizen (by e-mail) when the status changes"},
        "dispatch": {"type": "object", "description": "how the request reached this instance (dispatch's answer)"},
    },
}
CREATE_EXAMPLE = {
    "service_code": "voirie", "external_id": "signalements-1234", "description": "Nid-de-poule devant le 12",
    "lat": 49.1193, "long": 6.1757, "email": "citoyen@example.org", "attributes": {"danger": "oui"},
    "attachments": [{"filename": "photo.jpg", "content_type": "image/jpeg", "content": "/9j/4AAQ"}],
}
TRANSIENT = (UpstreamError, UpstreamTimeout, Unavailable)


class Open311(Connector):
    """Requests to a commune's technical-services ticketing software through the Open311
    GeoReport v2 standard: the request types as a w.c.s. data source, their definitions,
    creating a request (queued durably while the server is down, never twice), and
    following each request until its status is final, notifying the citizen on the way."""

    id = "open311"
    title = "Open311 GeoReport v2 (ticketing)"

    endpoint_url = Setting(str, REQUIRED, "root of the server's GeoReport v2 API, e.g. "
                           "https://gmao.example.fr/open311/v2/", variability="instance")
    jurisdiction_id = Setting(str, "", "jurisdiction_id sent with every call (servers hosting several "
                              "bodies need it)", variability="instance")
    jurisdictions = Setting(dict, {}, "a multi-communal binding's jurisdiction_id per hosted instance "
                            "(instance name → id); a hosted instance not listed uses its INSEE code",
                            variability="instance")
    api_key = Setting(str, "", "the API key the server gave for creating requests", secret=True,
                      variability="instance")
    format = Setting(str, "json", "format asked of the server (answers are read in either)",
                     choices=("json", "xml"), variability="instance")
    request_types = Setting(list, [], "the harmonised request types of the common project, "
                       "[{code, name, group, description}]; empty: the server's own list")
    bulk_query = Setting(bool, True, "poll with one requests query per batch (service_request_id=a,b,c); "
                         "off for servers that do not support it", variability="instance")
    batch_size = Setting(int, 50, "service_request_ids per bulk query")
    final_statuses = Setting(list, ["closed"], "statuses after which a request is no longer polled")
    notify_profile = Setting(str, "", "profile of this instance's e-mail binding that notifies citizens; "
                             "empty: no notification")
    notify_on = Setting(dict, {}, "status changes the citizen is told of, per service_code ('*' for the "
                        "others): {\"*\" = [\"closed\"], voirie = [\"open\", \"closed\"]}; opt-in")
    status_labels = Setting(dict, {"open": "prise en compte", "closed": "traitée"},
                            "how the notification names each status")

    # -- the server ---------------------------------------------------------------------

    def _jurisdiction(self, served: str) -> str:
        """The jurisdiction_id of the served instance: mapped in ``jurisdictions``; else,
        for a hosted instance, its INSEE code (how shared servers usually know communes);
        else the binding's own ``jurisdiction_id``."""
        if self.settings.jurisdictions.get(served):
            return str(self.settings.jurisdictions[served])
        instance = self.ctx.served_instance(served)
        if instance is not self.ctx.instance and instance.insee:
            return instance.insee[0]
        return str(self.settings.jurisdiction_id)

    def _call(self, method: str, resource: str, what: str, *, params: Mapping[str, Any] | None = None,
              **kwargs: Any) -> Any:
        url = georeport.resource_url(self.settings.endpoint_url, resource, self.settings.format)
        response = self.http.request(method, url, params=dict(params or {}), **kwargs)
        host = georeport.host_of(url)
        data = georeport.decode(response.content, response.headers.get("Content-Type", ""), host)
        georeport.raise_for(response.status_code, data, host, what)
        return data

    def _get(self, resource: str, what: str, jurisdiction: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if jurisdiction:
            query["jurisdiction_id"] = jurisdiction
        return self._call("GET", resource, what, params=query)

    # -- endpoints ----------------------------------------------------------------------

    @endpoint(
        description="Request types (w.c.s. data source): the common project's harmonised list, "
                    "or the server's own when none is configured.",
        params=[Param("q", str, "words the type's name must contain", "voirie"),
                Param("id", str, "one type by its service_code", "voirie"),
                Param("on_behalf_of", str, "a hosted instance (its jurisdiction)", "woippy")],
        permission="open", datasource=True, cache_seconds=300,
    )
    def services(self, call: Call) -> list[dict[str, Any]]:
        served = self.ctx.served_instance(call.params.get("on_behalf_of")).name
        if self.settings.request_types:
            items = [georeport.service_item(s) for s in self.settings.request_types if isinstance(s, dict)]
        else:
            data = self._get("services", "the service list", self._jurisdiction(served))
            items = [georeport.service_item(s) for s in georeport.as_list(data) if isinstance(s, dict)]
        if call.params.get("id"):
            return [i for i in items if i["id"] == call.params["id"]]
        words = (call.params.get("q") or "").casefold().split()
        return [i for i in items if all(w in i["text"].casefold() for w in words)]

    @endpoint(
        description="A request type's definition: the extra attributes the server asks for.",
        params=[Param("service_code", str, "the request type", "voirie", required=True),
                Param("on_behalf_of", str, "a hosted instance (its jurisdiction)", "woippy")],
        permission="open", cache_seconds=300,
    )
    def service_definition(self, call: Call) -> dict[str, Any]:
        served = self.ctx.served_instance(call.params.get("on_behalf_of")).name
        code = call.params["service_code"]
        data = self._get(f"services/{code}", f"service {code!r}", self._jurisdiction(served))
        return georeport.definition(data)

    @endpoint(
        methods=("POST",),
        description="Create a request on the server (location, attributes, a photo). Answers its "
                    "service_request_id (or the token to resolve later); when the server is down, "
                    "202 with a job id: it is delivered once the server is back, never twice.",
        body_schema=CREATE_SCHEMA, body_example=CREATE_EXAMPLE, permission="can_access",
    )
    def create(self, call: Call) -> dict[str, Any] | Accepted:
        body = call.body if isinstance(call.body, dict) else {}
        if not body.get("service_code"):
            raise BadRequest("the body needs a service_code", hint="one of the services endpoint's ids")
        if body.get("lat") is None and not body.get("address_string") and not body.get("address_id"):
            raise BadRequest("the request has no location",
                             hint="give lat and long, an address_string or an address_id")
        served = self.ctx.served_instance(body.get("on_behalf_of")).name
        if isinstance(body.get("dispatch"), dict) and body["dispatch"].get("request_id") is not None:
            body = {**body, "dispatch": self._dispatched(body["dispatch"], served)}
        ref = follow.reference(body, served)
        record = self.store.get(follow.COLLECTION, ref)
        if record is not None and record["state"] in follow.OPEN_STATES:
            return follow.summary(record)  # the same request again: one ticket
        if record is not None and record.get("job_id") and self._job_pending(record["job_id"]):
            return Accepted(record["job_id"])
        if record is None or record["state"] == "rejected":
            record = follow.new_record(ref, body, served, self._jurisdiction(served))
            self._save(record)
        try:
            return follow.summary(self._deliver(record))
        except TRANSIENT as exc:
            return self._queue(record, exc)

    @endpoint(
        description="A followed request: its ticket id, current status and whole history.",
        params=[Param("id", str, "the request's reference (create's id)", "signalements-1234"),
                Param("service_request_id", str, "or the server's id of the request", "1001")],
        permission="can_access",
    )
    def status(self, call: Call) -> dict[str, Any]:
        return follow.public(self._find(call.params.get("id"), call.params.get("service_request_id")))

    @endpoint(
        description="Requests as the server has them now, by service_request_id (one bulk query "
                    "where the server supports it).",
        params=[Param("ids", str, "service_request_ids, comma-separated", "1001,1002", required=True),
                Param("on_behalf_of", str, "a hosted instance (its jurisdiction)", "woippy")],
        permission="can_access",
    )
    def requests(self, call: Call) -> list[dict[str, Any]]:
        served = self.ctx.served_instance(call.params.get("on_behalf_of")).name
        ids = [i.strip() for i in call.params["ids"].split(",") if i.strip()]
        if not ids or len(ids) > 200:
            raise BadRequest("parameter 'ids': give 1 to 200 service_request_ids")
        found = self._fetch(ids, self._jurisdiction(served))
        return [found[i] for i in ids if i in found]

    # -- jobs ---------------------------------------------------------------------------

    @job(schedule="weekly", description="Deliver a request queued while the server was down "
                                        "(payload {ref}); without a payload, nothing to do.")
    def deliver(self, run: JobRun) -> dict[str, Any]:
        ref = run.payload.get("ref")
        if not ref:
            return {"delivered": 0}
        record = self.store.get(follow.COLLECTION, str(ref))
        if record is None:
            raise NotFound(f"no queued request {ref!r} in {self.ctx.binding_id}")
        if record["state"] in follow.OPEN_STATES:
            return follow.summary(record)  # delivered already (a rerun after a crash)
        return follow.summary(self._deliver(record))

    @job(schedule="every 6h", description="Poll the followed requests that are not final: resolve "
                                          "tokens, record each status change, notify the citizen.")
    def poll(self, run: JobRun) -> dict[str, int]:
        records = [r for r in self.store.search(follow.COLLECTION)
                   if r["state"] in follow.OPEN_STATES and not r.get("final")]
        run.advance(0, total=len(records))
        for record in records:
            if record["state"] == "token":
                self._resolve_token(record)
        changed = 0
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            if record["state"] == "created":
                groups.setdefault(record.get("jurisdiction_id") or "", []).append(record)
        for jurisdiction, group in groups.items():
            size = max(1, int(self.settings.batch_size))
            for start in range(0, len(group), size):
                chunk = group[start:start + size]
                remote = self._fetch([r["service_request_id"] for r in chunk], jurisdiction)
                for record in chunk:
                    changed += self._apply(record, remote.get(record["service_request_id"]))
                run.advance(len(chunk))
        final = sum(1 for r in records if r.get("final"))
        return {"followed": len(records), "changed": changed, "final": final}

    def health_check(self) -> None:
        self._get("services", "the service list", self.settings.jurisdiction_id)

    # -- delivering ---------------------------------------------------------------------

    def _deliver(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["state"] == "sending" and self._recover(record):
            return record
        record["state"], record["sent_at"] = "sending", follow.now()
        self._save(record)  # from here a lost answer may still have created the request
        fields, files = self._form(record)
        try:
            data = self._call("POST", "requests", "the request", data=fields, files=files or None,
                              idempotency_key=f"raccord-open311-{record['ref']}")
        except (BadRequest, NotFound) as exc:  # the caller's data: retrying will not help
            record["state"] = "rejected"
            follow.event(record, "rejected", error=exc.message)
            self._save(record)
            raise BadRequest(exc.message, hint="fix the request (service_code, location, attributes)") from exc
        answer = next(iter(georeport.as_list(data)), None)
        if not isinstance(answer, dict):
            raise UpstreamError(f"{georeport.host_of(self.settings.endpoint_url)} answered no request")
        self._created(record, georeport.request_fields(answer))
        return record

    def _created(self, record: dict[str, Any], answer: Mapping[str, Any]) -> None:
        if answer.get("service_request_id"):
            record["state"], record["service_request_id"] = "created", answer["service_request_id"]
        elif answer.get("token"):
            record["state"], record["token"] = "token", answer["token"]
        else:
            raise UpstreamError("the server created the request but answered neither a "
                                "service_request_id nor a token")
        follow.event(record, "created", service_request_id=record["service_request_id"],
                     token=record["token"], notice=answer.get("service_notice"))
        self._save(record)
        self._tell_dispatch(record, "received",
                            f"ticket {record['service_request_id'] or 'token ' + str(record['token'])}")
        self.log.info("request %s created on the server: %s", record["ref"],
                      record["service_request_id"] or f"token {record['token']}")

    def _recover(self, record: dict[str, Any]) -> bool:
        """After an attempt whose answer was lost, look for the request it may have
        created (same service, description and place, posted since) before posting again."""
        request = record["request"]
        try:
            data = self._get("requests", "the recent requests", record.get("jurisdiction_id") or "",
                             service_code=request["service_code"], start_date=_minus(record["sent_at"], 120))
        except (BadRequest, NotFound):
            return False  # the server cannot search: post again (its own checks decide)
        for item in georeport.as_list(data):
            if isinstance(item, dict) and follow.same_request(request, georeport.request_fields(item)):
                follow.event(record, "recovered", service_request_id=str(item.get("service_request_id")))
                self._created(record, georeport.request_fields(item))
                return True
        return False

    def _form(self, record: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        request = record["request"]
        fields: dict[str, str] = {"service_code": str(request["service_code"])}
        if record.get("jurisdiction_id"):
            fields["jurisdiction_id"] = str(record["jurisdiction_id"])
        for name in ("lat", "long", "address_string", "address_id", "email", "first_name", "last_name",
                     "phone", "device_id", "account_id", "description", "media_url"):
            if request.get(name) not in (None, ""):
                fields[name] = str(request[name])
        for code, value in (request.get("attributes") or {}).items():
            fields[f"attribute[{code}]"] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        if self.settings.api_key:
            fields["api_key"] = self.settings.api_key
        files = {}
        attachments = request.get("attachments") or []
        if attachments:  # GeoReport v2 takes one media: the first attachment
            first = attachments[0]
            try:
                content = base64.b64decode(first["content"], validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("attachment 'content' is not base64") from None
            files["media"] = (first.get("filename") or "media", content,
                              first.get("content_type") or "application/octet-stream")
        return fields, files

    def _queue(self, record: dict[str, Any], exc: RaccordError) -> Accepted:
        job_id = self.ctx.queue.enqueue("deliver", {"ref": record["ref"]},  # type: ignore[union-attr]
                                        idempotency_key=f"create:{record['ref']}")
        record["job_id"] = job_id
        follow.event(record, "queued", job_id=job_id, reason=exc.message)
        self._save(record)
        self.log.warning("request %s queued as job %s: %s", record["ref"], job_id, exc.message)
        return Accepted(job_id)

    def _job_pending(self, job_id: int) -> bool:
        info = self.ctx.queue.get(job_id) if self.ctx.queue is not None else None
        return info is not None and info.status in ("queued", "running")

    # -- the dispatched request ----------------------------------------------------------

    def _dispatched(self, given: Mapping[str, Any], served: str) -> dict[str, Any]:
        """What dispatch decided for this request, read from its store: it must have
        been dispatched to the instance this ticket is created for."""
        try:
            request_id = int(given["request_id"])
        except (TypeError, ValueError):
            raise BadRequest("dispatch.request_id must be a number (route's request_id)") from None
        from framework import RequestStore  # SQLAlchemy: when used, not at `raccord check`

        request = RequestStore(self.store.db).get(request_id)
        if request is None:
            raise NotFound(f"no dispatched request {request_id}", hint="give the request_id route answered")
        if request.instance != served:
            raise Forbidden(f"dispatched request {request_id} is handled by {request.instance or 'triage'}, "
                            f"not {served}", hint="create the ticket with the binding serving that instance")
        return {"request_id": request_id, "instance": request.instance, "decided_by": request.method,
                "commune": request.commune, "evidence": dict(request.evidence), "category": request.category,
                "form_url": request.form_url}

    def _tell_dispatch(self, record: Mapping[str, Any], status: str, note: str) -> None:
        """Move the dispatched request on in its inbox as the ticket moves (received when
        created, in progress, done when final). Never fails the ticket's own work."""
        dispatch = record.get("dispatch") or {}
        if dispatch.get("request_id") is None:
            return
        from framework import RequestStore  # SQLAlchemy: when used, not at `raccord check`

        try:
            RequestStore(self.store.db).set_status(int(dispatch["request_id"]), str(record["on_behalf_of"]),
                                                   status, actor=f"open311 {self.ctx.binding_id}", note=note)
        except Exception as exc:  # the inbox is informative: the ticket is what matters
            self.log.warning("request %s: dispatch status not updated: %s", record["ref"], type(exc).__name__)

    # -- following ----------------------------------------------------------------------

    def _fetch(self, ids: list[str], jurisdiction: str) -> dict[str, dict[str, Any]]:
        """Requests by id: one bulk query, then one by one for those it left out (a server
        that ignores the filter answers others, which are dropped)."""
        found: dict[str, dict[str, Any]] = {}
        if self.settings.bulk_query and len(ids) > 1:
            data = self._get("requests", "the followed requests", jurisdiction, service_request_id=",".join(ids))
            for item in georeport.as_list(data):
                if isinstance(item, dict):
                    fields = georeport.request_fields(item)
                    if fields["service_request_id"] in ids:
                        found[fields["service_request_id"]] = fields
        for ident in ids:
            if ident not in found:
                try:
                    data = self._get(f"requests/{ident}", f"request {ident}", jurisdiction)
                except NotFound:
                    continue
                items = [i for i in georeport.as_list(data) if isinstance(i, dict)]
                if items:
                    found[ident] = georeport.request_fields(items[0])
        return found

    def _resolve_token(self, record: dict[str, Any]) -> None:
        try:
            data = self._get(f"tokens/{record['token']}", "the token", record.get("jurisdiction_id") or "")
        except NotFound:
            return  # not processed yet: the next poll asks again
        for item in georeport.as_list(data):
            if isinstance(item, dict) and item.get("service_request_id"):
                record["state"], record["service_request_id"] = "created", str(item["service_request_id"])
                follow.event(record, "token_resolved", service_request_id=record["service_request_id"])
                self._save(record)
                return

    def _apply(self, record: dict[str, Any], remote: Mapping[str, Any] | None) -> int:
        if remote is None or not follow.changed(record, remote):
            return 0
        status = str(remote["status"])
        record["status"], record["status_notes"] = status, remote.get("status_notes") or None
        follow.event(record, "status", status=status, notes=record["status_notes"],
                     updated_datetime=remote.get("updated_datetime"))
        if status in self.settings.final_statuses:
            record["final"] = True
        self._notify(record, remote)
        self._save(record)
        self._tell_dispatch(record, "done" if record["final"] else "in_progress",
                            f"ticket {record['service_request_id']}: {status}")
        return 1

    def _notify(self, record: dict[str, Any], remote: Mapping[str, Any]) -> None:
        from framework import mask_email  # SQLAlchemy: when used, not at `raccord check`

        status = str(record["status"])
        if not (record.get("notify") and self.settings.notify_profile and self._opted(record["service_code"], status)):
            return
        index = sum(1 for e in record["history"] if e["event"] == "status")
        key = f"open311:{record['ref']}:{index}:{status}"
        context = {
            "ref": record["ref"], "service_request_id": record["service_request_id"],
            "service_code": record["service_code"], "service_name": remote.get("service_name"),
            "description": record["request"].get("description"),
            "address": remote.get("address") or record["request"].get("address_string"),
            "status": status, "status_label": self.settings.status_labels.get(status, status),
            "notes": record["status_notes"], "final": record["final"],
            "requested_datetime": remote.get("requested_datetime"),
        }
        queue = self.ctx.queue.sibling(self.settings.notify_profile)  # type: ignore[union-attr]
        job_id = queue.enqueue("send", {"to": record["notify"]["email"], "template": "status", "ref": record["ref"],
                                        "on_behalf_of": record["on_behalf_of"], "context": context, "key": key},
                               idempotency_key=key)
        follow.event(record, "notification", status=status, job_id=job_id,
                     profile=self.settings.notify_profile, to=mask_email(record["notify"]["email"]))

    def _opted(self, code: str, status: str) -> bool:
        rules = self.settings.notify_on
        wanted = rules.get(code, rules.get("*", []))
        return status in wanted

    # -- store --------------------------------------------------------------------------

    def _save(self, record: dict[str, Any]) -> None:
        self.store.put(follow.COLLECTION, [(record["ref"], follow.text(record), record)])

    def _find(self, ref: str | None, ticket: str | None) -> dict[str, Any]:
        if ref:
            record = self.store.get(follow.COLLECTION, ref)
            if record is not None:
                return record
        elif ticket:
            for record in self.store.search(follow.COLLECTION, ticket):
                if record.get("service_request_id") == ticket:
                    return record
        else:
            raise BadRequest("give id or service_request_id")
        raise NotFound(f"{self.ctx.binding_id} follows no request {ref or ticket!r}")


def _minus(iso: str | None, seconds: int) -> str:
    import datetime as dt

    at = dt.datetime.fromisoformat(iso) if iso else dt.datetime.now(dt.UTC)
    return (at - dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")
