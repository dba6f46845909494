"""The gateway: a WSGI application serving every instance's endpoints.

Routes::

    GET  /healthz  /readyz  /metrics
    GET  /<instance>/                       the instance's profiles, endpoints, overrides
    GET  /<instance>/openapi.json           OpenAPI 3.1 from the declarations
    GET  /<instance>/<profile>/             each endpoint's documentation
    GET  /<instance>/<profile>/jobs/<id>    a queued job's status (framework.queue)
    GET  /_status/ …                        the status page, for admin clients (status_page.py)
    ANY  /<instance>/<profile>/<endpoint>[/<path…>]

Every answer is JSON (Prometheus text for /metrics); every endpoint call goes through
:meth:`framework.app.Raccord.invoke`, is journaled and counted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pluggy
from werkzeug.wrappers import Request

from framework.access import SIDE_EFFECT_METHODS, Principal, reaches
from framework.app import Raccord
from framework.connector import Accepted, Unwrapped
from framework.declarations import EndpointSpec
from framework.errors import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RaccordError,
    Unauthorized,
)
from framework.gateway import envelope, metadata, routes, status_page
from framework.gateway.auth import Authenticator
from framework.gateway.envelope import Answer
from framework.gateway.journaling import InboundJournal
from framework.gateway.metrics import CONTENT_TYPE, Metrics
from framework.gateway.query import query_pairs
from framework.journal import mask_text, masked_traceback
from framework.storage.db import is_database_error
from framework.storage.unavailable import database_unavailable

log = logging.getLogger("raccord.gateway")
StartResponse = Callable[..., Any]
_BODY_METHODS = SIDE_EFFECT_METHODS


class Gateway:
    """A WSGI callable over one :class:`~framework.app.Raccord` runtime."""

    def __init__(self, raccord: Raccord) -> None:
        self.raccord = raccord
        self.territory = raccord.territory
        # The nonce store and the journal share no lock and no connection: a journal
        # flush never holds up a signed call (framework.gateway.nonces, framework.journal).
        self.auth = Authenticator(raccord.territory, raccord.db)
        self.metrics = Metrics(raccord)
        self.max_body = raccord.territory.gateway.max_body_bytes
        self.journal = InboundJournal(raccord.db)

    # -- WSGI -----------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        call = _CallInfo(environ, self.territory.gateway.error_status)
        try:
            answer = self._route(call, environ)
        except RaccordError as exc:
            answer = envelope.error(exc, call.error_mode)
            if exc.status in (401, 403):
                from framework import metrics

                metrics.auth_failure(exc.message, exc.status)
        except Exception as exc:
            if is_database_error(exc):  # down, locked, hung, read-only or gone: a 503 (framework-level, every mode)
                answer = envelope.error(database_unavailable(exc, f"{call.method} {mask_text(call.path)}"))
            else:
                answer = envelope.incident(call.error_mode)
                self._log_incident(answer, call, exc)
        elapsed = time.perf_counter() - started
        if call.spec is not None and call.spec.override:
            # Errors too: whoever reads the answer must know an override produced it.
            answer.headers.append(("X-Raccord-Override", call.spec.override))
            from framework import metrics

            metrics.override_call(call.spec.override)
        if call.endpoint is not None:
            self._account(call, environ, answer, elapsed)
        # w.c.s. reads this header before the body (and only it for an attachment).
        error_code = "0" if answer.err_class is None else "1"
        headers = [*answer.headers, ("X-Error-Code", error_code), ("Content-Length", str(len(answer.body)))]
        start_response(envelope.status_line(answer.status), headers)
        return [answer.body]

    # -- routing ----------------------------------------------------------------------

    def _log_incident(self, answer: Answer, call: _CallInfo, exc: Exception) -> None:
        # The traceback is for the administrator, yet a connector's exception text may
        # quote a URL with credentials or a secret value: both are masked here too.
        binding = self.territory.bindings.get((call.instance or "", call.profile or ""))
        text = masked_traceback(exc, binding)
        log.error("incident %s on %s %s\n%s", answer.incident, call.method, mask_text(call.path), text)

    def _route(self, call: _CallInfo, environ: dict[str, Any]) -> Answer:
        parts = call.path.strip("/").split("/") if call.path.strip("/") else []
        if len(parts) == 1 and parts[0] in _SERVICE_ROUTES:
            _only(call.method, ("GET", "HEAD"))
            return _SERVICE_ROUTES[parts[0]](self)
        if not parts:
            raise NotFound("no route here: try /<instance>/ (GET /healthz for liveness)")
        if parts[0] == status_page.PREFIX:  # not an instance name: those never start with "_"
            call.error_mode = "http"  # a page for people: Passerelle's 200-on-error is for w.c.s.
            return status_page.handle(self, call.method, parts, environ)
        instance = parts[0]
        if instance not in self.territory.instances:
            raise NotFound(f"unknown instance {instance!r}")
        if len(parts) == 1 or (len(parts) == 2 and parts[1] == routes.OPENAPI):
            _only(call.method, ("GET", "HEAD"))
            # Documentation is public, but credentials that are given must be valid: a
            # forged or replayed signature is refused here as everywhere.
            self._admit(self.auth.authenticate(environ, instance))
            if len(parts) == 1:
                return envelope.success(metadata.instance_index(self.raccord, instance))
            return Answer(200, envelope.encode(metadata.openapi(self.raccord, instance)))
        profile = parts[1]
        if len(parts) == 2 or (len(parts) == 3 and parts[2] == ""):
            _only(call.method, ("GET", "HEAD"))
            self._admit(self.auth.authenticate(environ, instance))
            return envelope.success(metadata.profile_doc(self.raccord, instance, profile))
        if parts[2] == routes.JOBS and len(parts) == 4:
            _only(call.method, ("GET", "HEAD"))
            principal = self.auth.authenticate(environ, instance)
            return self.job_status(instance, profile, parts[3], principal)
        call.instance, call.profile, call.endpoint = instance, profile, parts[2]
        return self._endpoint(call, environ, "/".join(parts[3:]))

    @staticmethod
    def _admit(principal: Principal | None) -> None:
        if principal is not None:
            principal.admit()

    def job_status(self, instance: str, profile: str, job_id: str,
                   principal: Principal | None) -> Answer:
        """A job of this binding only (another instance's job is a 404), as its
        ``.public()`` view (framework.runtime.queue)."""
        self.raccord.binding(instance, profile)  # 404 for an unknown binding
        if principal is None:
            # Job ids are sequential: without this, anyone could read any binding's results.
            raise Unauthorized(f"job status of {instance}/{profile} is for its clients: authenticate "
                               "(Publik signature, X-API-Key header or HTTP basic)")
        inst = self.territory.instances[instance]
        if not reaches(principal.client, inst):
            raise Forbidden(f"client {principal.client.id} is not allowed on instance {instance!r}",
                            hint=f"instance {instance!r} must grant it: grants = [\"{principal.client.id}\"]")
        principal.admit()
        from framework.runtime import queue
        # ASCII digits only ("²".isdigit() is True), within a 64-bit id column.
        if not (job_id.isascii() and job_id.isdigit() and len(job_id) <= 18):
            raise NotFound(f"no job {job_id[:40]!r}: job ids are numbers")
        job = queue.get_job(self.raccord.db, instance, profile, int(job_id))
        if job is None:
            raise NotFound(f"{instance}/{profile} has no job {job_id}")
        return envelope.success(job.public())

    # -- endpoint calls ------------------------------------------------------------------

    def _endpoint(self, call: _CallInfo, environ: dict[str, Any], path: str) -> Answer:
        principal = self.auth.authenticate(environ, call.instance)
        call.client = principal.client.id if principal else None
        if principal is not None and principal.client.error_status:
            call.error_mode = principal.client.error_status
        _, spec = self.raccord.endpoint(call.instance, call.profile, call.endpoint or "")
        call.spec = spec
        # Access, method, body schema, path and parameters are checked by invoke, the
        # path `raccord call` and the test kit share; reading the body is transport.
        reader = (lambda: self._body(Request(environ))) if call.method in _BODY_METHODS else None
        data = self.raccord.invoke(
            call.instance, call.profile, spec.name, method=call.method,
            params=_query_params(query_pairs(environ), _list_params(spec)), path=path,
            caller=principal, read_body=reader)
        if isinstance(data, Accepted):
            url = f"/{call.instance}/{call.profile}/jobs/{data.job_id}"
            answer = envelope.success({"job_id": data.job_id, "status": data.status, "url": url}, 202)
        elif isinstance(data, Unwrapped):
            answer = Answer(200, envelope.encode(data.data))
        else:
            answer = envelope.success(data)
        return answer

    def _body(self, request: Request) -> Any:
        length = request.content_length
        if length is not None and length > self.max_body:
            raise PayloadTooLarge(f"body of {length} bytes is over the limit of {self.max_body} bytes")
        try:
            raw = request.stream.read(self.max_body + 1)
        except Exception as exc:
            if type(exc).__module__.startswith("gunicorn.http"):  # a malformed chunked body
                raise BadRequest("the request body is malformed (invalid chunked encoding)", http_status=400) from None
            raise
        if len(raw) > self.max_body:
            raise PayloadTooLarge(f"body is over the limit of {self.max_body} bytes")
        if not raw:
            body = None
        elif "json" in (request.mimetype or "") or raw.lstrip()[:1] in (b"{", b"["):
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadRequest(f"body is not valid JSON: {exc}", http_status=400) from None
            except RecursionError:  # "[[[[…": a kilobyte is enough
                raise BadRequest("body is not valid JSON: nested too deeply", http_status=400) from None
        else:
            body = raw.decode("utf-8", "replace")
        return body

    # -- journal and metrics -------------------------------------------------------------

    def _account(self, call: _CallInfo, environ: dict[str, Any], answer: Answer, elapsed: float) -> None:
        spec = call.spec
        known = spec is not None
        override = spec.override if spec is not None else None
        instance = call.instance or ""
        # Only names that exist become labels: a scanner must not explode cardinality.
        self.metrics.observe(instance, call.profile if known else "-",
                             spec.name if spec is not None else "-", answer.status,
                             override or "", elapsed)
        query = environ.get("QUERY_STRING", "")
        # The decoded path may hold "?" or "#" (%3F, %23): left as is, redact_url would
        # take the wrong part for the query and keep an apikey in clear.
        path = call.path.replace("?", "%3F").replace("#", "%23")
        try:
            # Caller-chosen names are cut to their columns: PostgreSQL would refuse the
            # whole batch (everyone's rows) for one over-long value.
            self.journal.record(
                instance=instance, profile=call.profile[:64],
                endpoint=(call.endpoint or "")[:128], client=call.client, method=call.method[:10],
                url=f"{path}?{query}" if query else path, status=answer.status,
                duration_ms=round(elapsed * 1000, 3), err_class=answer.err_class,
                override=override, incident=answer.incident)
        except Exception:  # the answer must not fail because the journal did
            log.exception("journal write failed for %s %s", call.method, call.path)

    def close(self) -> None:
        self.journal.close()
        self.auth.nonces.close()
        self.raccord.close()


class _CallInfo:
    __slots__ = ("client", "endpoint", "error_mode", "instance", "method", "path", "profile", "spec")

    def __init__(self, environ: dict[str, Any], error_mode: str) -> None:
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        # PATH_INFO is latin-1 decoded bytes per PEP 3333; URLs are UTF-8.
        raw = environ.get("PATH_INFO", "/")
        try:
            self.path: str = raw.encode("latin-1").decode("utf-8")
        except UnicodeError:
            self.path = raw
        self.instance = ""
        self.profile = ""
        self.endpoint: str | None = None
        self.client: str | None = None
        self.spec: EndpointSpec | None = None
        self.error_mode = error_mode  # the [gateway] default until a client is known


def _list_params(spec: EndpointSpec) -> frozenset[str]:
    return frozenset(p.name for p in spec.params if p.type is list)


def _query_params(pairs: list[tuple[str, str]], lists: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Query parameters (the pairs the signature check read too), without building a
    Request for GET calls: the first value wins (as Werkzeug's ``args.to_dict()``),
    except for parameters declared as lists, which get every value (w.c.s. sends a list
    as repeated keys: ``id=1&id=2``)."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        if key in lists:
            params.setdefault(key, []).append(value)
        else:
            params.setdefault(key, value)
    return params


def _only(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise MethodNotAllowed(f"this route accepts {', '.join(allowed)}, not {method}", allowed=allowed)


def _healthz(gw: Gateway) -> Answer:
    return envelope.success({"status": "ok"})


def _readyz(gw: Gateway) -> Answer:
    ready, checks = metadata.readiness(gw.raccord)
    if ready:
        return envelope.success(checks)
    body = {"err": 1, "err_class": "raccord.unavailable", "err_desc": "not ready", "data": checks}
    return Answer(503, envelope.encode(body), err_class="raccord.unavailable")


def _metrics(gw: Gateway) -> Answer:
    return Answer(200, gw.metrics.exposition(), [("Content-Type", CONTENT_TYPE)])


# Keyed by framework.gateway.routes, which the configuration reads to refuse instance
# names these would shadow.
_SERVICE_ROUTES: dict[str, Callable[[Gateway], Answer]] = {
    routes.HEALTHZ: _healthz, routes.READYZ: _readyz, routes.METRICS: _metrics,
}


def make_app(config: str | Path, *, database_url: str | None = None,
             pm: pluggy.PluginManager | None = None) -> Gateway:
    """The gateway for ``config`` (raises ConfigError listing every problem)."""
    return Gateway(Raccord.open(config, database_url=database_url, pm=pm))
