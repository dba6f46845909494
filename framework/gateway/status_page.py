"""``/_status/``: the territory's status page, for its admin clients.

Routes::

    GET  /_status/                      the page (HTML; ?lang=en for English)
    GET  /_status/jobs/<id>             one dead letter: its error, attempts, dates
    POST /_status/jobs/<id>/retry       put a dead letter back in the queue (a form)

Who: a client holding the ``can_admin`` permission, authenticated like any caller
(Publik signature, X-API-Key, HTTP basic — a browser uses basic). Anonymous is a 401,
another client a 403, both in the JSON envelope. The page shows the instances the
client administers (framework/web/status.py).

CSRF: a browser sends basic credentials by itself, so the retry form carries a token
— an HMAC of the client's id and the job id under the client's own secret (every
gateway process can check it, nothing is stored) — and a cross-site ``Origin`` or
``Sec-Fetch-Site`` is refused. A good POST answers 303 to the page (no resubmission).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from framework.errors import BadRequest, Forbidden, MethodNotAllowed, NotFound, Unauthorized
from framework.gateway.envelope import Answer
from framework.gateway.routes import STATUS_PAGE

if TYPE_CHECKING:
    from framework.access import Principal
    from framework.gateway.app import Gateway

ADMIN_PERMISSION = "can_admin"
PREFIX = STATUS_PAGE
HTML = "text/html; charset=utf-8"
_SECURITY = [("Content-Security-Policy", "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
                                         "form-action 'self'; frame-ancestors 'none'"),
             ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
             ("Cache-Control", "no-store")]


def handle(gw: Gateway, method: str, parts: list[str], environ: dict[str, Any]) -> Answer:
    principal = admin(gw, environ)
    lang = _lang(environ)
    rest = [p for p in parts[1:] if p]
    if not rest:
        _only(method, ("GET", "HEAD"))
        return _html(page(gw, principal, lang, environ.get("QUERY_STRING", "")))
    if len(rest) >= 2 and rest[0] == "jobs":
        job = _job(gw, principal, rest[1])
        if len(rest) == 2:
            _only(method, ("GET", "HEAD"))
            return _html(job_page(gw, principal, job, lang))
        if len(rest) == 3 and rest[2] == "retry":
            _only(method, ("POST",))
            return retry(gw, principal, job, environ, lang)
    raise NotFound("no such page under /_status/", hint="the status page is GET /_status/")


def admin(gw: Gateway, environ: dict[str, Any]) -> Principal:
    from framework.costs.scenarios import metropolis

    principal = gw.auth.authenticate(environ, metropolis(gw.territory))
    if principal is None:
        raise Unauthorized("the status page is for the territory's admin clients: authenticate "
                           "(HTTP basic, X-API-Key header or Publik signature)")
    if ADMIN_PERMISSION not in principal.client.permissions:
        raise Forbidden(f"client {principal.client.id} lacks permission {ADMIN_PERMISSION!r} for the status page",
                        hint=f"an admin client has permissions = [\"{ADMIN_PERMISSION}\"] in instances.toml")
    principal.admit()
    return principal


def page(gw: Gateway, principal: Principal, lang: str, query: str) -> str:
    from framework.costs.advise import advise
    from framework.costs.scenarios import compare_topologies, report_for
    from framework.costs.views import charts
    from framework.web import status
    from framework.web.i18n import translator
    from framework.web.render import markup, render

    territory, db = gw.territory, gw.raccord.db
    names = status.scope(territory, principal.client)
    report = report_for(territory)
    topologies = compare_topologies(territory)
    pictures = {k: markup(v) for k, v in charts(report, topologies, translator(lang)).items()}
    flash = parse_qs(query).get("retried", [""])[0]
    return render(
        "status.html", lang, territory=territory, client=principal.client.id, names=names,
        tree=status.tree(territory, names), instances=[territory.instances[n] for n in names],
        bindings=status.bindings(territory, db, names), dead=status.dead_letters(db, names),
        report=report, topologies=topologies, charts=pictures, advice=advise(territory, report),
        dispatch=status.dispatch_statistics(gw.raccord, names), flash=flash if flash.isdigit() else "",
        token=lambda job_id: csrf_token(gw, principal, job_id), other_lang="en" if lang == "fr" else "fr",
        generated_at=_now())


def job_page(gw: Gateway, principal: Principal, job: Any, lang: str) -> str:
    from framework.web.render import render

    return render("job.html", lang, job=job, token=csrf_token(gw, principal, job.id), generated_at=_now(),
                  other_lang="en" if lang == "fr" else "fr")


def retry(gw: Gateway, principal: Principal, job: Any, environ: dict[str, Any], lang: str) -> Answer:
    from framework.runtime.queue import retry_job

    _same_site(environ)
    form = _form(environ)
    if not hmac.compare_digest(form.get("csrf", ""), csrf_token(gw, principal, job.id)):
        raise Forbidden("the form's CSRF token is missing or wrong", hint="reload the status page and retry")
    if not retry_job(gw.raccord.db, job.id):
        raise BadRequest(f"job {job.id} is {job.status}: only dead jobs are retried")
    where = f"/{PREFIX}/?lang={lang}&retried={job.id}#dead"
    return Answer(303, b"", [("Location", where)])


def csrf_token(gw: Gateway, principal: Principal, job_id: int) -> str:
    from framework.gateway.auth import _refs

    refs = _refs(principal.client)
    secret = next((v for r in refs if (v := gw.auth.secrets.get(r, principal.client.id))), "")
    message = f"raccord-status-retry:{principal.client.id}:{job_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _job(gw: Gateway, principal: Principal, raw: str) -> Any:
    from framework.runtime.queue import find_job
    from framework.web.status import scope

    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise NotFound(f"no job {raw[:40]!r}: job ids are numbers")
    job = find_job(gw.raccord.db, int(raw))
    if job is None or job.instance not in scope(gw.territory, principal.client):
        raise NotFound(f"no job {raw} among the instances you administer")
    return job


def _same_site(environ: dict[str, Any]) -> None:
    site = str(environ.get("HTTP_SEC_FETCH_SITE", ""))
    if site and site not in ("same-origin", "none"):
        raise Forbidden("cross-site form submission refused")
    origin = str(environ.get("HTTP_ORIGIN", ""))
    host = str(environ.get("HTTP_HOST", ""))
    if origin and origin != "null" and origin.split("://", 1)[-1] != host:
        raise Forbidden("cross-site form submission refused (Origin is another site)")


def _form(environ: dict[str, Any]) -> dict[str, str]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), 4096)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _lang(environ: dict[str, Any]) -> str:
    from framework.web.i18n import pick

    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    return pick(query.get("lang", [None])[0], str(environ.get("HTTP_ACCEPT_LANGUAGE", "")))


def _only(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise MethodNotAllowed(f"this page accepts {', '.join(allowed)}, not {method}", allowed=allowed)


def _html(text: str) -> Answer:
    return Answer(200, text.encode("utf-8"), [("Content-Type", HTML), *_SECURITY])


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
