"""Steady traffic against a `raccord serve` during a fault: pushes, signed calls,
job-status reads and readiness probes, round after round, each answer recorded."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests

from tests.framework.serve.harness import API_KEY, Serve, wait_for


class Traffic:
    """Pushes, signed calls, job-status reads and probes, round after round."""

    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.results: list[tuple[str, int, float, str]] = []  # kind, status, seconds, key
        self.accepted: dict[str, str] = {}  # key → job status url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _call(self, kind: str, send: object, key: str = "") -> requests.Response | None:
        started = time.monotonic()
        try:
            response = send()  # type: ignore[operator]
        except requests.RequestException:
            self.results.append((kind, 0, time.monotonic() - started, key))
            return None
        self.results.append((kind, response.status_code, time.monotonic() - started, key))
        return response  # type: ignore[no-any-return]

    def _run(self) -> None:
        s, n = self.serve, 0
        while not self.stop.is_set():
            n += 1
            key = f"p{n}"
            pushed = self._call("push", lambda k=key: s.push(k), key)
            if pushed is not None and pushed.status_code == 202:
                self.accepted[key] = pushed.json()["data"]["url"]
            self._call("signed", lambda: s.get(s.signed_path()))
            if self.accepted:
                url = next(iter(self.accepted.values()))
                self._call("job", lambda u=url: s.get(u, headers={"X-API-Key": API_KEY}))
            self._call("readyz", lambda: s.get("/readyz"))
            time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)

    def statuses(self) -> Counter[tuple[str, int]]:
        return Counter((kind, status) for kind, status, _, _ in self.results)


@dataclass
class Outage:
    traffic: Traffic
    during: list[tuple[str, int, float, str]]  # the answers while the server was down
    recovered_s: float  # from the server's restart to /readyz 200


def outage(serve: Serve, cluster: Any, seconds: float) -> Outage:
    """Traffic for 2 s, the PostgreSQL server stopped ``seconds``, started again, then
    traffic until raccord is ready again and 2 s more."""
    traffic = Traffic(serve)
    try:
        time.sleep(2)
        cluster.stop()
        down_at = len(traffic.results)
        time.sleep(seconds)
        during = traffic.results[down_at:]
        cluster.start()
        back = time.monotonic()
        wait_for(lambda: serve.get("/readyz", timeout=5).status_code == 200, 60, serve.text)
        recovered = time.monotonic() - back
        time.sleep(2)
    finally:
        traffic.close()
    return Outage(traffic, during, recovered)
