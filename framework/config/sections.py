"""Known keys of ``instances.toml``, section by section (the source of truth for
unknown-key errors and for the configuration reference in the docs)."""

from __future__ import annotations

TOP = {"territory", "costs", "storage", "gateway", "runtime", "profiles", "instances", "clubs"}
TERRITORY = {"name", "triage", "description"}
COSTS = {"day_rate_eur", "split", "floor_eur", "platform"}
COST = {"setup_days", "yearly_days"}
STORAGE = {"url"}
GATEWAY = {"max_body_bytes", "signature_window_seconds", "public_url", "error_status"}
RUNTIME = {
    "workers",
    "lease_seconds",
    "max_attempts",
    "backoff_seconds",
    "poll_seconds",
    "journal_retention_days",
    "health_check_interval",
}
PROFILE = {"connector", "description", "settings", "cost", "jobs", "access"}
PROFILE_JOB = {"schedule", "enabled"}
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
