"""A fake business server and a test connector in front of it, for the gateway tests.

Importable by a gunicorn subprocess as ``tests.framework.gateway.fakes`` (it is the
plugin module handed to ``make_plugin_manager(plugins=[...])``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from framework import (
    Accepted,
    Call,
    Connector,
    Param,
    Setting,
    Unavailable,
    endpoint,
    hookimpl,
)
from framework.outbound.client import decode_json
from framework.registry import ConnectorRegister

ITEM_SCHEMA = {
    "type": "object",
    "required": ["name", "qty"],
    "properties": {"name": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}


class Echo(Connector):
    """Test connector: forwards to a fake business server."""

    id = "gw_echo"
    title = "gateway test connector"
    url = Setting(str, description="base URL of the fake business server", variability="instance")

    @endpoint(permission="open", description="Echo the parameters through the business server.",
              params=[Param("q", str, "text", "rue"), Param("n", int, "a number", 3)])
    def echo(self, call: Call) -> Any:
        data = self.http.get_json(f"{self.settings.url}/echo", params={"q": call.params["q"] or ""})
        return {"upstream": data, "n": call.params["n"], "user": dict(call.user or {}),
                "client": call.client, "instance": self.ctx.binding.instance.name}

    @endpoint(description="Needs the can_access permission.", permission="can_access")
    def private(self, call: Call) -> Any:
        return {"client": call.client, "user": dict(call.user or {})}

    @endpoint(permission="open", open_reason="a test fake: stores nothing, shows body checks to anyone",
              methods=["POST"], description="Store an item (validated body).", body_schema=ITEM_SCHEMA,
              body_example={"name": "chaise", "qty": 2})
    def items(self, call: Call) -> Any:
        return {"stored": call.body}

    @endpoint(permission="open", description="Business server failure modes.",
              params=[Param("mode", str, "what the upstream does", "ok", required=True,
                            choices=("ok", "error", "html", "slow", "down", "boom"))])
    def upstream(self, call: Call) -> Any:
        mode = call.params["mode"]
        if mode == "down":
            raise Unavailable("business server is in maintenance")
        if mode == "boom":
            raise RuntimeError("a bug with a secret-looking detail s3cr3t")
        response = self.http.request("GET", f"{self.settings.url}/{mode}")
        return decode_json(response)

    @endpoint(methods=["POST"], description="Receive a w.c.s. form (post_data or post_formdata) and "
              "say what came.", permission="can_access")
    def form(self, call: Call) -> Any:
        body = call.body if isinstance(call.body, dict) else {}
        files = [f for f in (body.get("fields") or {}).values()
                 if isinstance(f, dict) and "content" in f]
        return {"body": body if not files else None, "keys": sorted(body),
                "attachments": {f["filename"]: len(base64.b64decode(f["content"])) for f in files}}

    @endpoint(permission="open", description="Queue some work.")
    def later(self, call: Call) -> Any:
        return Accepted(42)

    @endpoint(permission="open", description="A document by number.", pattern=r"(?P<num>\d+)")
    def doc(self, call: Call) -> Any:
        return {"num": call.path_args["num"]}


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(Echo)


# -- the fake business server -----------------------------------------------------------

def upstream_app(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    path = request.path
    if path == "/echo":
        resp = Response(json.dumps({"q": request.args.get("q", "")}), mimetype="application/json")
    elif path == "/ok":
        resp = Response('{"ok": true}', mimetype="application/json")
    elif path == "/error":
        resp = Response("oops", status=500)
    elif path == "/html":
        resp = Response("<html>login</html>", mimetype="text/html")
    elif path == "/slow":
        time.sleep(1.0)
        resp = Response("{}", mimetype="application/json")
    else:
        resp = Response("{}", status=404, mimetype="application/json")
    return resp(environ, start_response)


def fake_upstream() -> AbstractContextManager[str]:
    """The fake business server on a free loopback port; yields its base URL."""
    return serve_wsgi(upstream_app)


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI ``app`` on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def territory_toml(upstream: str, *, window: int = 30, max_body: int = 1024) -> str:
    """Three instances × two clients each (a signing client and a key/basic client),
    plus grants: ``alpha.wcs`` is granted on beta; gamma grants nobody."""
    lines = [
        '[territory]\nname = "Test territory"\n',
        f"[gateway]\nsignature_window_seconds = {window}\nmax_body_bytes = {max_body}\n",
        '[profiles.echo]\nconnector = "gw_echo"\nsettings = { read_timeout = 0.3 }\n',
    ]
    for inst in ("alpha", "beta", "gamma"):
        up = inst.upper()
        grants = '\ngrants = ["alpha.wcs"]' if inst == "beta" else ""
        lines.append(f"""
[instances.{inst}]
name = "{inst.title()}"
profiles = ["echo"]{grants}

[instances.{inst}.settings.echo]
url = "{upstream}"

[instances.{inst}.clients.wcs]
signature = {{ orig = "wcs.{inst}.test", secret = {{ env = "GW_{up}_WCS" }} }}
permissions = ["can_access"]

[instances.{inst}.clients.portal]
apikey = {{ env = "GW_{up}_KEY" }}
basic = {{ username = "portal-{inst}", password = {{ env = "GW_{up}_PASS" }} }}
""")
    lines.append("""
[instances.alpha.clients.legacy.signature]
orig = "legacy.alpha.test"
secret = { env = "GW_ALPHA_LEGACY" }
algos = ["sha1", "sha256"]
nonce = "optional"

[instances.alpha.clients.ghost]
apikey = { env = "GW_UNSET_NEVER_DEFINED" }

[instances.alpha.clients.strict]
description = "wants HTTP statuses for connector-level errors"
apikey = { env = "GW_ALPHA_STRICT" }
error_status = "http"
""")
    return "\n".join(lines)


SECRETS = {
    f"GW_{inst}_{kind}": f"{inst.lower()}-{kind.lower()}-secret-value"
    for inst in ("ALPHA", "BETA", "GAMMA") for kind in ("WCS", "KEY", "PASS")
} | {"GW_ALPHA_LEGACY": "legacy-secret", "GW_ALPHA_STRICT": "alpha-strict-key-value"}
