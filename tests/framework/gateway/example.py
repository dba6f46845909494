"""The example territory (instances.toml) as a caller sees it, written independently of
the code under test: its clients and their credentials, what the shipped connectors
declare, and who may call what by the rules of docs/gateway.md ("Access")."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from tests.conftest import ROOT
from tests.framework.gateway import signer

EXAMPLE = ROOT / "instances.toml"
RAW: dict[str, Any] = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
INSTANCES: dict[str, Any] = RAW["instances"]
PROFILES: dict[str, Any] = RAW["profiles"]

# What the shipped connectors declare, endpoint → (methods, permission): read off
# docs/gateway.md's table and docs/dispatch.md, not off the code.
DECLARED: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "base_adresse": {"search": (("GET",), "open"), "reverse": (("GET",), "open"), "streets": (("GET",), "open")},
    "csv_datasource": {"data": (("GET",), "open"), "query": (("GET",), "open")},
    "payfip": {"create_payment": (("POST",), "can_access"), "payment": (("GET",), "can_access")},
    "dispatch": {"route": (("POST",), "can_access"), "assign": (("POST",), "triage"),
                 "triage": (("GET",), "triage"), "stats": (("GET",), "can_access")},
    "dispatch_inbox": {"inbox": (("GET", "POST"), "inbox")},
    # Not in the matrix (INVALID): no request of theirs is refused offline by its parameters alone.
    "open311": {"services": (("GET",), "open"), "service_definition": (("GET",), "open"),
                "create": (("POST",), "can_access"), "status": (("GET",), "can_access"),
                "requests": (("GET",), "can_access")},
    "email": {"send": (("POST",), "can_access"), "preview": (("GET",), "can_access"),
              "outbox": (("GET",), "can_access")},
}

# A request each endpoint refuses with a 400 *after* the access check and before
# calling anything: a served caller gets that 400, a refused one a 401/403.
INVALID: dict[str, tuple[str, Any]] = {
    "search": ("limit=many", None), "reverse": ("lat=north", None), "streets": ("limit=many", None),
    "data": ("limit=many", None), "query": ("limit=many", None), "payment": ("", None),
    "create_payment": ("", {"amount": "a lot"}), "route": ("", {}), "assign": ("", {}),
    "triage": ("limit=many", None), "stats": ("since=yesterday", None), "inbox": ("limit=many", None),
}
GOOD_PAYMENT = {"amount": 4250, "refdet": "CANTINE2024000123", "email": "payeur@example.org"}


@dataclass(frozen=True)
class ExampleClient:
    id: str
    permissions: tuple[str, ...]
    orig: str | None = None
    secret_env: str | None = None
    key_env: str | None = None
    basic: tuple[str, str] | None = None  # (username, password env)

    @property
    def instance(self) -> str:
        return self.id.split(".")[0]


def _clients() -> list[ExampleClient]:
    found = []
    for inst, body in INSTANCES.items():
        for name, c in body.get("clients", {}).items():
            sig = c.get("signature")
            found.append(ExampleClient(f"{inst}.{name}", tuple(c.get("permissions", ())),
                                       sig["orig"] if sig else None, sig["secret"]["env"] if sig else None,
                                       c["apikey"]["env"] if "apikey" in c else None,
                                       (c["basic"]["username"], c["basic"]["password"]["env"])
                                       if "basic" in c else None))
    return found


CLIENTS = _clients()
BY_ID = {c.id: c for c in CLIENTS}
SECRETS = {env: f"example-{env.lower()}" for c in CLIENTS
           for env in (c.secret_env, c.key_env, c.basic[1] if c.basic else None) if env}


def credentials(client: str, query: str = "", *, wrong: bool = False) -> tuple[str, dict[str, str]]:
    """(query string, headers) authenticating as ``client`` (signed if it signs, else its key)."""
    c = BY_ID[client]
    if c.orig is not None and c.secret_env is not None:
        key = SECRETS[c.secret_env] + ("x" if wrong else "")
        return signer.sign(f"{query}&orig={c.orig}" if query else f"orig={c.orig}", key), {}
    if c.key_env is not None:
        return query, {"X-API-Key": SECRETS[c.key_env] + ("x" if wrong else "")}
    assert c.basic is not None
    import base64

    token = base64.b64encode(f"{c.basic[0]}:{SECRETS[c.basic[1]]}{'x' if wrong else ''}".encode()).decode()
    return query, {"Authorization": f"Basic {token}"}


def endpoints_of(instance: str) -> list[tuple[str, str, str]]:
    """(profile, endpoint, method) of every endpoint the instance serves, by its first method."""
    return [(p, e, methods[0]) for p, e, methods in methods_of(instance)]


def methods_of(instance: str) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(p, e, methods) for p in INSTANCES[instance].get("profiles", [])
            for e, (methods, _) in DECLARED[PROFILES[p]["connector"]].items()]


def access(instance: str, profile: str, endpoint: str) -> tuple[str, list[str] | None]:
    """(permission, clients or None): the declaration, then the profile's, then the instance's rule."""
    permission = DECLARED[PROFILES[profile]["connector"]][endpoint][1]
    clients = None
    rules = (PROFILES[profile].get("access", {}).get(endpoint),
             INSTANCES[instance].get("access", {}).get(profile, {}).get(endpoint))
    for rule in rules:
        if rule:
            permission = rule.get("permission", permission)
            clients = rule.get("clients", clients)
    return permission, clients


def is_open(instance: str, profile: str, endpoint: str) -> bool:
    return access(instance, profile, endpoint) == ("open", None)


def may_call(caller: str | None, instance: str, profile: str, endpoint: str) -> bool:
    if is_open(instance, profile, endpoint):
        return True
    if caller is None:
        return False
    permission, clients = access(instance, profile, endpoint)
    c = BY_ID[caller]
    if c.instance != instance and caller not in INSTANCES[instance].get("grants", []):
        return False
    if clients is not None and caller not in clients:
        return False
    return permission == "open" or permission in c.permissions
