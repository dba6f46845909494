"""TLS: a private-CA server is refused without ca_bundle and accepted with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from framework.errors import ConfigError, UpstreamError
from framework.outbound import OutboundHTTP
from framework.outbound.policy import OutboundPolicy
from tests.framework.outbound.servers import ScriptedServer, self_signed, tls_context

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def test_self_signed_server_refused_without_ca_bundle_accepted_with_it(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with ScriptedServer(tls_context(cert, key)) as server:
        plain = OutboundHTTP("metz/tickets", policy=OutboundPolicy(retries=0))
        with pytest.raises(UpstreamError, match="TLS certificate raccord cannot verify") as info:
            plain.get_json(f"{server.url}/x")
        assert "ca_bundle" in (info.value.hint or "")
        plain.close()

        trusting = OutboundHTTP("metz/tickets", policy=OutboundPolicy.from_settings(
            {"ca_bundle": cert.name, "retries": 0}, base_dir=str(tmp_path)))
        assert trusting.get_json(f"{server.url}/x") == {"ok": True}
        with pytest.raises(ConfigError):
            trusting.get_json(f"{server.url}/x", verify=False)
        trusting.close()


def test_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ca_bundle .*nope\.pem does not exist"):
        OutboundPolicy.from_settings({"ca_bundle": "nope.pem"}, base_dir=str(tmp_path))


def test_empty_verify_string_does_not_turn_verification_off(tmp_path: Path) -> None:
    # requests treats verify="" as "do not verify"; an unset ca_bundle setting is "".
    cert, key = self_signed(tmp_path)
    with ScriptedServer(tls_context(cert, key)) as server:
        http = OutboundHTTP("metz/tickets", policy=OutboundPolicy(retries=0))
        with pytest.raises(UpstreamError, match="TLS certificate raccord cannot verify"):
            http.get_json(f"{server.url}/x", verify="")
        http.close()
