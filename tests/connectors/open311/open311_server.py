"""A fake Open311 GeoReport v2 server, written from the public specification.

It serves the spec's resources in JSON and XML (the format is the path's extension):

* ``GET services.{fmt}`` — the service list (``jurisdiction_id`` selects a tenant);
* ``GET services/{service_code}.{fmt}`` — a service definition (its attributes);
* ``POST requests.{fmt}`` — create a request (form-encoded or multipart with a ``media``
  file); ``api_key`` required; answers ``service_request_id`` or, in token mode, a
  ``token`` to resolve later through ``GET tokens/{token}.{fmt}``;
* ``GET requests.{fmt}`` — requests, filtered by ``service_request_id`` (a comma
  list: the bulk query), ``service_code``, ``status``, ``start_date``/``end_date``;
* ``GET requests/{service_request_id}.{fmt}`` — one request.

Errors are the spec's arrays of ``{code, description}`` (``<errors><error>`` in XML)
with the matching HTTP status. Tests drive it: ``down`` (answers 503), ``tokens``
(token mode), ``bulk`` (False: ignores the bulk query like servers that do not
support it), ``hold_post`` (an Event a POST waits for *after* the request was
created: a lost answer), ``set_status``.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

SERVICES = [
    {"service_code": "voirie", "service_name": "Voirie (nid-de-poule, trottoir)",
     "description": "Chaussée et trottoirs", "metadata": True, "type": "realtime", "keywords": "trou, chaussée",
     "group": "Espace public"},
    {"service_code": "eclairage", "service_name": "Éclairage public", "description": "Lampadaire en panne",
     "metadata": False, "type": "realtime", "keywords": "lampadaire", "group": "Espace public"},
]
DEFINITIONS = {
    "voirie": {"service_code": "voirie", "attributes": [
        {"variable": True, "code": "danger", "datatype": "singlevaluelist", "required": True,
         "datatype_description": "", "order": 1, "description": "Le défaut est-il dangereux ?",
         "values": [{"key": "oui", "name": "Oui"}, {"key": "non", "name": "Non"}]},
    ]},
}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class Ticket:
    service_request_id: str
    fields: dict[str, Any]
    status: str = "open"
    status_notes: str = ""
    requested_datetime: str = field(default_factory=now_iso)
    updated_datetime: str = field(default_factory=now_iso)
    media: bytes | None = None
    token: str | None = None

    def public(self) -> dict[str, Any]:
        f = self.fields
        out: dict[str, Any] = {
            "service_request_id": self.service_request_id, "status": self.status,
            "status_notes": self.status_notes or None, "service_code": f.get("service_code"),
            "service_name": next((s["service_name"] for s in SERVICES if s["service_code"] == f.get("service_code")),
                                 None),
            "description": f.get("description"), "agency_responsible": "Services techniques",
            "service_notice": None, "requested_datetime": self.requested_datetime,
            "updated_datetime": self.updated_datetime, "expected_datetime": None,
            "address": f.get("address_string"), "address_id": f.get("address_id"), "zipcode": None,
            "lat": float(f["lat"]) if f.get("lat") else None, "long": float(f["long"]) if f.get("long") else None,
            "media_url": f.get("media_url"),
        }
        return out


class Open311Server:
    def __init__(self, *, api_key: str = "s3cret-key", jurisdictions: tuple[str, ...] = ()) -> None:
        self.api_key = api_key
        self.jurisdictions = jurisdictions  # empty: any jurisdiction_id (or none) is accepted
        self.tickets: dict[str, Ticket] = {}
        self.posts: list[dict[str, Any]] = []  # every POST received (with its jurisdiction)
        self.down = False
        self.tokens = False
        self.bulk = True
        self.hold_post: threading.Event | None = None
        self.post_received = threading.Event()
        self.lock = threading.Lock()
        self.seen: list[str] = []  # "METHOD path?query"
        self._next = 1000
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self._thread: threading.Thread | None = None

    # -- test controls ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/open311/v2/"

    def set_status(self, ticket_id: str, status: str, notes: str = "") -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            ticket.status, ticket.status_notes, ticket.updated_datetime = status, notes, now_iso()

    def start(self) -> Open311Server:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Open311Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.hold_post is not None:
            self.hold_post.set()
        self.stop()

    # -- resources -------------------------------------------------------------------

    def _create(self, form: dict[str, str], media: bytes | None) -> tuple[int, Any]:
        if form.get("api_key") != self.api_key:
            return 403, [{"code": 403, "description": "Invalid api_key"}]
        if self.jurisdictions and form.get("jurisdiction_id") not in self.jurisdictions:
            return 404, [{"code": 404, "description": f"jurisdiction_id {form.get('jurisdiction_id')} not found"}]
        code = form.get("service_code")
        if code not in {s["service_code"] for s in SERVICES}:
            return 404, [{"code": 404, "description": f"service_code {code} not found"}]
        if not (form.get("lat") and form.get("long")) and not form.get("address_string") \
                and not form.get("address_id"):
            return 400, [{"code": 400, "description": "a location is required (lat/long, address_string "
                                                      "or address_id)"}]
        if code in DEFINITIONS:
            for attr in DEFINITIONS[code]["attributes"]:
                if attr["required"] and not form.get(f"attribute[{attr['code']}]"):
                    return 400, [{"code": 400, "description": f"attribute {attr['code']} is required"}]
        with self.lock:
            self._next += 1
            ticket = Ticket(str(self._next), dict(form), media=media)
            self.tickets[ticket.service_request_id] = ticket
            self.posts.append(dict(form))
            if self.tokens:
                ticket.token = f"tok-{self._next}"
        if self.tokens:
            return 200, [{"token": ticket.token, "service_notice": "Votre demande sera traitée"}]
        return 200, [{"service_request_id": ticket.service_request_id, "service_notice": "Merci",
                      "account_id": None}]

    def _requests(self, query: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            found = list(self.tickets.values())
        if self.bulk and query.get("service_request_id"):
            wanted = set(query["service_request_id"].split(","))
            found = [t for t in found if t.service_request_id in wanted]
        else:
            for key in ("service_code", "status"):
                if query.get(key):
                    found = [t for t in found if (t.fields.get(key) if key == "service_code" else t.status)
                             == query[key]]
            if query.get("start_date"):
                found = [t for t in found if t.requested_datetime >= _norm(query["start_date"])]
            if query.get("end_date"):
                found = [t for t in found if t.requested_datetime <= _norm(query["end_date"])]
        return 200, [t.public() for t in found]

    def _route(self, method: str, path: str, query: dict[str, str], form: dict[str, str],
               media: bytes | None) -> tuple[int, Any, str]:
        base, _, fmt = path.rpartition(".")
        if fmt not in ("json", "xml"):
            return 404, [{"code": 404, "description": "unknown format"}], "json"
        if not base.startswith("/open311/v2/"):
            return 404, [{"code": 404, "description": "not found"}], fmt
        resource = base[len("/open311/v2/"):]
        if self.down:
            return 503, [{"code": 503, "description": "maintenance"}], fmt
        if method == "GET" and resource == "services":
            return 200, SERVICES, fmt
        if method == "GET" and resource.startswith("services/"):
            code = resource.split("/", 1)[1]
            if code not in DEFINITIONS:
                return 404, [{"code": 404, "description": f"service_code {code} not found"}], fmt
            return 200, DEFINITIONS[code], fmt
        if method == "POST" and resource == "requests":
            status, body = self._create(form, media)
            self.post_received.set()
            if self.hold_post is not None:
                self.hold_post.wait(30)  # the request exists; the answer is late
            return status, body, fmt
        if method == "GET" and resource == "requests":
            status, body = self._requests(query)
            return status, body, fmt
        if method == "GET" and resource.startswith("requests/"):
            ticket = self.tickets.get(resource.split("/", 1)[1])
            if ticket is None:
                return 404, [{"code": 404, "description": "service_request_id not found"}], fmt
            return 200, [ticket.public()], fmt
        if method == "GET" and resource.startswith("tokens/"):
            token = resource.split("/", 1)[1]
            match = [t for t in self.tickets.values() if t.token == token]
            if not match:
                return 404, [{"code": 404, "description": "token not found"}], fmt
            return 200, [{"service_request_id": match[0].service_request_id, "token": token}], fmt
        return 404, [{"code": 404, "description": f"no resource {resource}"}], fmt

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form, media = dict(query), None
                ctype = self.headers.get("Content-Type", "")
                if self.command == "POST":
                    if ctype.startswith("multipart/form-data"):
                        form, media = _multipart(ctype, raw)
                    else:
                        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                server.seen.append(f"{self.command} {self.path}")
                status, body, fmt = server._route(self.command, parts.path, query, form, media)
                data = (json.dumps(body) if fmt == "json" else to_xml(parts.path, body, status)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json" if fmt == "json" else "text/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _norm(date: str) -> str:
    parsed = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _multipart(ctype: str, raw: bytes) -> tuple[dict[str, str], bytes | None]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
    form: dict[str, str] = {}
    media = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "media":
            media = payload
        elif isinstance(name, str):
            form[name] = payload.decode()
    return form, media


# -- XML, as the spec shows it ---------------------------------------------------------

def _element(tag: str, value: Any) -> str:
    if value is None:
        return f"<{tag}></{tag}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, list):
        return f"<{tag}>" + "".join(_element(tag[:-1] if tag.endswith("s") else "item", v) for v in value) \
            + f"</{tag}>"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_element(k, v) for k, v in value.items()) + f"</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def to_xml(path: str, body: Any, status: int) -> str:
    head = '<?xml version="1.0" encoding="utf-8"?>'
    if status >= 400:
        return head + "<errors>" + "".join(_element("error", e) for e in body) + "</errors>"
    if path.endswith("services.xml"):
        return head + "<services>" + "".join(_element("service", s) for s in body) + "</services>"
    if "/services/" in path:
        attrs = "".join(
            "<attribute>" + "".join(_element(k, v) for k, v in a.items() if k != "values")
            + "<values>" + "".join(_element("value", v) for v in a.get("values", [])) + "</values></attribute>"
            for a in body["attributes"])
        return (head + f"<service_definition><service_code>{escape(body['service_code'])}</service_code>"
                f"<attributes>{attrs}</attributes></service_definition>")
    return head + "<service_requests>" + "".join(_element("request", r) for r in body) + "</service_requests>"
