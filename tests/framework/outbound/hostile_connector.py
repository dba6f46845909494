"""A connector calling the hostile server (tests/framework/outbound/hostile.py), and a
territory binding it with canary credentials: a password in the URL, an API key
sent as a header and a cookie, the same key queued with a push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framework import Accepted, Call, Connector, JobRun, Param, Setting, endpoint, hookimpl, job
from framework.outbound.client import decode_json
from framework.registry import ConnectorRegister

URL_PASSWORD = "urlpw-CANARY-51c2"
API_KEY = "apikey-CANARY-9d0e"
CANARIES = (URL_PASSWORD, API_KEY)
CLIENT_KEY = "client-key-of-the-soap-callers"
ENV = {"HOSTILE_API_KEY": API_KEY, "HOSTILE_CLIENT_KEY": CLIENT_KEY}


class HostileProbe(Connector):
    """Calls ``<url>/<mode>`` of the hostile server."""

    id = "hostile_probe"
    title = "hostile upstream probe"
    url = Setting(str, description="base URL (with user:password)", variability="instance")
    apikey = Setting(str, description="API key sent as a header", secret=True, variability="instance")

    def _headers(self) -> dict[str, str]:
        return {"X-API-Key": self.settings.apikey, "Cookie": f"session={self.settings.apikey}"}

    @endpoint(permission="open", description="GET <url>/<mode> as JSON.",
              params=[Param("mode", str, "what the server does", "ok", required=True)])
    def fetch(self, call: Call) -> Any:
        return self.http.get_json(f"{self.settings.url}/{call.params['mode']}", headers=self._headers())

    @endpoint(methods=["POST"], permission="open", open_reason="test connector: posts to the hostile server",
              description="POST the body to <url>/<mode> now.",
              params=[Param("mode", str, "what the server does", "ok", required=True)])
    def send(self, call: Call) -> Any:
        response = self.http.request("POST", f"{self.settings.url}/{call.params['mode']}", json=call.body,
                                     headers=self._headers())
        return decode_json(response)

    @endpoint(methods=["POST"], permission="open", open_reason="test connector: queues a push",
              description="Queue a push of the body to <url>/<mode>.",
              params=[Param("mode", str, "what the server does", "ok", required=True)])
    def push(self, call: Call) -> Any:
        assert self.ctx.queue is not None
        return Accepted(self.ctx.queue.enqueue("deliver", {"mode": call.params["mode"], "body": call.body}))

    @job(schedule="daily", description="Deliver a queued push (queued by push).")
    def deliver(self, run: JobRun) -> Any:
        response = self.http.request("POST", f"{self.settings.url}/{run.payload['mode']}",
                                     json=run.payload["body"], headers=self._headers(),
                                     idempotency_key=run.idempotency_key)
        return decode_json(response)


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(HostileProbe)


def territory(hostile_url: str, wsdl: Path) -> str:
    """``probe`` on instance metz (canary credentials); SOAP instances whose address is
    a hostile mode, with the password in the URL."""
    with_password = hostile_url.replace("http://", f"http://agent:{URL_PASSWORD}@")
    lines = [f"""
[territory]
name = "Hostile"

[gateway]
# The HTTP statuses of each error class are what this suite checks; the default
# (Passerelle's 200 + err 1 for w.c.s.) is tested in tests/framework/gateway/test_wcs_replay.py.
error_status = "http"

[profiles.probe]
connector = "hostile_probe"
settings = {{ read_timeout = 0.5, total_timeout = 1.5, max_answer_bytes = 1048576, retry_backoff = 0.01 }}

[profiles.calc]
connector = "soap"
settings = {{ wsdl = "{wsdl}", port = "CalculatorSoap" }}

[instances.metz]
name = "Metz"
profiles = ["probe"]

[instances.metz.settings.probe]
url = "{with_password}"
apikey = {{ env = "HOSTILE_API_KEY" }}
"""]
    for mode in ("soap-fault", "xml-bomb", "xxe"):
        name = mode.replace("-", "")
        lines.append(f"""
[instances.{name}]
name = "{mode}"
profiles = ["calc"]

[instances.{name}.settings.calc]
address = "{with_password}/{mode}"

[instances.{name}.clients.portal]
apikey = {{ env = "HOSTILE_CLIENT_KEY" }}
permissions = ["can_access"]
""")
    return "\n".join(lines)
