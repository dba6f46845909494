"""The one schema of raccord. Changes go through a new Alembic revision in
``framework/storage/migrations/versions``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Publik signature nonces seen recently: replay protection shared by all processes.
nonces = Table(
    "nonces",
    metadata,
    Column("orig", String(255), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)

# Every inbound call and outbound request, per instance, secrets redacted.
journal = Table(
    "journal",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("direction", String(3), nullable=False),  # "in" | "out"
    Column("instance", String(64), nullable=False),
    Column("profile", String(64)),
    Column("endpoint", String(128)),
    Column("client", String(128)),
    Column("method", String(10)),
    Column("url", Text),
    Column("status", Integer),
    Column("duration_ms", Float),
    Column("err_class", String(128)),
    Column("error", Text),
    Column("override", String(160)),
    Column("incident", String(64)),
    Index("ix_journal_instance_at", "instance", "at"),
)

# Durable job queue: pushes to business software and periodic work.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("instance", String(64), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False, default="task"),  # task | periodic
    Column("payload", JSON, nullable=False, default=dict),
    Column("status", String(16), nullable=False, default="queued"),  # queued|running|done|dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=5),
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("worker", String(128)),
    Column("idempotency_key", String(255)),
    Column("result", JSON),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("instance", "profile", "idempotency_key", name="uq_jobs_idempotency"),
    Index("ix_jobs_claim", "status", "run_at"),
)

# Referential data a connector keeps per binding (streets, CSV rows…).
records = Table(
    "records",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("profile", String(64), primary_key=True),
    Column("collection", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("text", Text, nullable=False, default=""),
    Column("data", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Endpoint answers cached per binding (never shared between instances).
cache = Table(
    "cache",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("profile", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON),
)

# Availability of each binding: up, or down since when and why.
availability = Table(
    "availability",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("profile", String(64), primary_key=True),
    Column("status", String(8), nullable=False),  # up | down
    Column("since", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)

# When each binding's periodic job last fired (the scheduler's memory across restarts).
schedule_state = Table(
    "schedule_state",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("profile", String(64), primary_key=True),
    Column("job", String(128), primary_key=True),
    Column("last_fired", DateTime(timezone=True), nullable=False),
)

# Mutualised requests (issue 12): one row per request routed by a territory's dispatch
# binding, read by the responsible instance's inbox. Not a RecordStore collection: the
# dispatch binding writes what other bindings (each instance's inbox) read.
requests = Table(
    "requests",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),  # instance of the dispatch binding (the triage one)
    Column("category", String(128), nullable=False),
    Column("form_ref", String(255), nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("form_url", Text, nullable=False, default=""),
    Column("location", JSON, nullable=False, default=dict),
    Column("status", String(16), nullable=False),  # triage|new|received|in_progress|done|refused
    Column("instance", String(64)),  # responsible instance; NULL while in triage
    Column("commune", String(8)),  # INSEE code decided, if any
    Column("method", String(16)),  # insee|point|address|origin|manual
    Column("evidence", JSON, nullable=False, default=dict),
    Column("queue", String(64)),  # first recipients' instance while in triage
    Column("triage_reason", String(32)),
    Column("triaged", Integer, nullable=False, default=0),  # ever needed triage (statistics)
    Column("pending_geocoder", Integer, nullable=False, default=0),  # re-dispatch when the geocoder is back
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_requests_instance_status", "instance", "status"),
    Index("ix_requests_status_queue", "status", "queue"),
    Index("ix_requests_created", "created_at"),
)

# What happened to each request, oldest first: decisions, assignments, status changes.
request_history = Table(
    "request_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("instance", String(64)),
    Column("actor", String(255)),
    Column("note", Text),
    Column("details", JSON),
)
