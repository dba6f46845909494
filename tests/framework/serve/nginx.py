"""The shipped nginx configuration (docs/deployment/nginx-raccord.conf), run unprivileged
for a test: its own prefix, pid, logs and temp directories in tmp, a free port, and the
upstream servers replaced by the test's `raccord serve` processes. Nothing else changes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from framework.testing import free_port
from tests.conftest import ROOT

SHIPPED = ROOT / "docs" / "deployment" / "nginx-raccord.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed and CI=true: .ci/run must install it")
        pytest.skip("nginx is not installed (apt-get install nginx); these tests run, never skip, in CI")
    return found


def site_config(upstreams: list[str], port: int, logs: Path) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    servers = "".join(f"    server {u} max_fails=2 fail_timeout=10s;\n" for u in upstreams)
    text, n_up = re.subn(r"(upstream raccord \{\n(?:    #[^\n]*\n)*)(?:    server [^\n]*\n)+", rf"\g<1>{servers}", text)
    text, n_listen = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    text, n_logs = re.subn(r"/var/log/nginx/", f"{logs}/", text)
    assert (n_up, n_listen, n_logs) == (1, 1, 2), "the shipped configuration changed shape: update this test"
    return text


class Nginx:
    def __init__(self, tmp: Path, upstreams: list[str]) -> None:
        self.prefix = tmp / "nginx"
        for sub in ("logs", "temp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        # A "free" port may be taken by another test before nginx binds it: try again.
        for _attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            if self._start(upstreams):
                return
        raise AssertionError(f"nginx did not start: {self.logs()[-2000:]}")

    def _start(self, upstreams: list[str]) -> bool:
        site = self.prefix / "raccord.conf"
        site.write_text(site_config(upstreams, self.port, self.prefix / "logs"), encoding="utf-8")
        temp = self.prefix / "temp"
        user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would be nobody
        (self.prefix / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/main-error.log warn;
events {{ worker_connections 2048; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    access_log off;
    include {site};
}}
""", encoding="utf-8")
        binary = nginx_binary()
        check = subprocess.run([binary, "-t", "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([binary, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"),
                                      "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                return False  # the port was taken meanwhile (the error log says so)
            try:
                requests.get(self.url + "/healthz", timeout=1)
                return True
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted((self.prefix / "logs").glob("*.log")))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
