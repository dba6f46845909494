"""What ``instances.toml`` may contain, section by section.

The framework's own sections (``[territory]``, ``[costs]``, ``[storage]``,
``[gateway]``, ``[runtime]``, and the cost and job tables) are declared like a
connector's settings: one :class:`~framework.declarations.Setting` per key, with its
type, default, bounds and description. The configuration walker
(:func:`framework.config.values.read_section`) checks them, and ``raccord docs``
writes the reference in ``docs/configuration.md`` from them. The structural tables
(profiles, instances, clients…) are parsed by hand and listed here by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from framework.declarations import Setting


@dataclass(frozen=True)
class Section:
    """One table of ``instances.toml``: its keys and the sub-tables it holds."""

    title: str  # how the docs write it: "[runtime]", "cost = { … }"
    description: str
    fields: Mapping[str, Setting[Any]]
    tables: Mapping[str, Section] = field(default_factory=dict)

    @property
    def keys(self) -> set[str]:
        return {*self.fields, *self.tables}

    def defaults(self) -> dict[str, Any]:
        return {name: s.default for name, s in self.fields.items()}


COST = Section("cost = { setup_days, yearly_days }", "A cost in days of work (a profile's, an "
               "override's, the platform's).", {
    "setup_days": Setting(float, 0.0, "days of work to set it up, once", min=0),
    "yearly_days": Setting(float, 0.0, "days of work per year to keep it running", min=0),
})

TERRITORY_SECTION = Section("[territory]", "The territory as a whole.", {
    "name": Setting(str, "", "the territory's name"),
    "triage": Setting(str, "", "the instance that receives mutualised requests no referential can "
                      "dispatch (an instance of this file)"),
    "description": Setting(str, "", "free text"),
})

COSTS_SECTION = Section("[costs]", "How costs are computed and split (see costs.md).", {
    "day_rate_eur": Setting(float, 0.0, "price of one day of work, in euros", min=0),
    "split": Setting(str, "equal", "how shared costs are split between instances",
                     choices=("equal", "population", "weights")),
    "floor_eur": Setting(float, 0.0, "least share of shared costs an instance pays, in euros", min=0),
}, tables={"platform": COST})

STORAGE_SECTION = Section("[storage]", "Where raccord keeps its state.", {
    "url": Setting(str, "", "SQLAlchemy database URL (postgresql://… uses psycopg 3); default: a "
                   "SQLite file var/raccord.sqlite3 beside instances.toml; RACCORD_DATABASE_URL "
                   "wins over it; a relative sqlite:/// path is relative to instances.toml"),
})

GATEWAY_SECTION = Section("[gateway]", "The HTTP gateway.", {
    # 0 would refuse every body or signature, and a negative size read bodies unbounded.
    "max_body_bytes": Setting(int, 64 * 1_048_576, "largest request body accepted (413 above it); "
                              "w.c.s. posts forms with their attachments in base64", min=1, max=1_073_741_824),
    "signature_window_seconds": Setting(int, 30, "clock skew accepted on a signed URL's timestamp, "
                                        "in seconds either way", min=1, max=3600),
    "public_url": Setting(str, "", "the gateway's public root URL, as callers see it (OpenAPI "
                          "servers, job status links)", url=True, allow_http=True),
    "error_status": Setting(str, "passerelle", "how connector-level errors are answered: "
                            "\"passerelle\" (HTTP 200 with err 1, as w.c.s. expects from Passerelle) or "
                            "\"http\" (the error's own status); a client may choose its own",
                            choices=("passerelle", "http")),
})

RUNTIME_SECTION = Section("[runtime]", "Background roles: job workers, scheduler, maintenance.", {
    "workers": Setting(int, 2, "job worker threads started by raccord serve", min=0, max=64),
    "lease_seconds": Setting(float, 60.0, "how long a worker holds a job before another may take "
                             "it over (a worker renews it while the job runs)", min=1, max=86400),
    "max_attempts": Setting(int, 5, "attempts of a job before it is dead", min=1, max=100),
    "backoff_seconds": Setting(float, 30.0, "first retry delay of a failed job (doubles with each "
                               "attempt)", min=0, max=86400),
    "poll_seconds": Setting(float, 1.0, "how long an idle worker sleeps before looking for jobs "
                            "again", min=0.05, max=3600),
    # A negative retention made the daily purge delete the whole journal.
    "journal_retention_days": Setting(float, 30.0, "days outbound journal rows are kept",
                                      min=1, max=3650),
    "health_check_interval": Setting(float, 300.0, "seconds between health checks of a binding",
                                     min=5, max=86400),
})

PROFILE_JOB = Section("[profiles.<name>.jobs.<job>]", "A job of the profile's connector.", {
    "schedule": Setting(str, "", "when it runs: \"every 15m\", \"hourly\", \"daily\" or a cron "
                        "line \"30 3 * * *\" (default: the connector's)"),
    "enabled": Setting(bool, True, "false: the scheduler never fires it"),
})

#: The framework sections, in the order of the reference.
FRAMEWORK_SECTIONS: Mapping[str, Section] = {
    "territory": TERRITORY_SECTION,
    "costs": COSTS_SECTION,
    "storage": STORAGE_SECTION,
    "gateway": GATEWAY_SECTION,
    "runtime": RUNTIME_SECTION,
}

TOP = {*FRAMEWORK_SECTIONS, "profiles", "instances", "clubs"}

PROFILE = {"connector", "description", "settings", "cost", "jobs", "access"}
INSTANCE = {
    "name",
    "kind",
    "insee",
    "population",
    "weight",
    "identity",
    "hosted_by",
    "profiles",
    "settings",
    "clients",
    "overrides",
    "grants",
    "access",
}
KINDS = {"metropole", "commune", "multicommunal", "syndicat"}
IDENTITY = {"logo", "color", "secondary_color", "email", "phone", "url", "address", "signature"}
CLIENT = {"apikey", "basic", "signature", "permissions", "description", "error_status"}
# How connector-level errors are answered: Passerelle's HTTP 200 + err 1, or their HTTP status.
ERROR_STATUS = {"passerelle", "http"}
BASIC = {"username", "password"}
SIGNATURE = {"orig", "secret", "algos", "nonce"}
SIGNATURE_ALGOS = {"sha1", "sha256", "sha512"}
NONCE_POLICIES = {"required", "optional"}
OVERRIDE = {"reason", "owner", "review_by", "plugin", "cost", "settings"}
CLUB = {"name", "profile", "members", "reason", "owner", "review_by", "plugin", "cost", "settings", "shares"}
SPLITS = {"equal", "population", "weights"}
ACCESS = {"permission", "clients", "open_reason"}
