"""A careless connector for the canary suite: it sends a token (a secret setting) in a
header to a URL carrying ``user:password@``, and quotes both — and whatever the
server answered — in its errors, exceptions and job failures. raccord's masking must
keep every one of them out of every output.

Loaded by ``raccord serve`` and the CLI through ``RACCORD_PLUGINS=tests.adversarial.canary_plugin``.
"""

from __future__ import annotations

from typing import Any

from framework import Accepted, Call, Connector, JobRun, Param, Setting, UpstreamError, endpoint, hookimpl, job
from framework.outbound.client import decode_json
from framework.registry import ConnectorRegister


class CanaryProbe(Connector):
    """Calls ``<url>/<mode>`` with a token header; pushes delivered by a job."""

    id = "canary_probe"
    title = "canary probe"
    url = Setting(str, description="the server, with user:password@", variability="instance")
    token = Setting(str, description="bearer token", secret=True, variability="instance")

    def _headers(self) -> dict[str, str]:
        # Not Authorization: requests replaces it with the URL's user:password.
        return {"X-Auth-Token": self.settings.token}

    @endpoint(permission="open", description="Answer without calling anything.")
    def ping(self, call: Call) -> Any:
        return {"pong": True}

    @endpoint(description="GET <url>/<mode> with the token.", permission="can_access",
              params=[Param("mode", str, "what the server does", "ok", required=True)])
    def fetch(self, call: Call) -> Any:
        response = self.http.request("GET", f"{self.settings.url}/{call.params['mode']}", headers=self._headers())
        if response.status_code >= 400:
            # Careless on purpose: the URL with its password, the token and the answer.
            raise UpstreamError(f"GET {self.settings.url} with {self.settings.token} answered "
                                f"{response.status_code}: {response.text[:300]}")
        return decode_json(response)

    @endpoint(description="A connector bug quoting its secrets (an incident).", permission="can_access")
    def boom(self, call: Call) -> Any:
        raise RuntimeError(f"bug while calling {self.settings.url} with token {self.settings.token}")

    @endpoint(methods=("POST",), description="Queue a push; 202.", permission="can_access")
    def push(self, call: Call) -> Accepted:
        assert self.ctx.queue is not None
        key = str(dict(call.body or {}).get("key", "k"))
        return Accepted(self.ctx.queue.enqueue("deliver", {"key": key}, idempotency_key=key))

    @job(schedule="weekly", description="Deliver a queued push (the first attempt fails).")
    def deliver(self, run: JobRun) -> dict[str, Any]:
        response = self.http.request("POST", f"{self.settings.url}/deliver", json=run.payload,
                                     headers=self._headers())
        if response.status_code >= 400:
            raise UpstreamError(f"POST {self.settings.url}/deliver with {self.settings.token} answered "
                                f"{response.status_code}: {response.text[:300]}")
        return {"status": response.status_code}


@hookimpl
def raccord_register_connectors(register: ConnectorRegister) -> None:
    register.add(CanaryProbe)
