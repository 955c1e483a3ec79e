"""stackshift's own tables, beside the legacy schema and never mixed with it.

Every name starts with `stackshift_`; Alembic (migrate/alembic) creates and versions them
and is configured to see nothing else.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

OWN_PREFIX = "stackshift_"
own_metadata = MetaData()

# Browser sessions; ids and keys are stored as SHA-256 digests so a database reader cannot
# hijack a live session.
sessions = Table(
    "stackshift_sessions",
    own_metadata,
    Column("id_digest", String(64), primary_key=True),
    Column("key_digest", String(64), nullable=False),
    Column("user_id", BigInteger, nullable=False, index=True),
    Column("created", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("timeout_s", Integer, nullable=False),
    # The legacy server's JSESSIONID and sessionkey for this session (encrypted with the
    # installation key), so calls forwarded to legacy carry legacy's own session.
    Column("legacy_session", String(512), nullable=True),
    Column("legacy_key", String(512), nullable=True),
)

# Live stackshift processes. `msid` plays CloudStack's management-server id in async_job
# (job_init_msid / job_executing_msid); a stale heartbeat marks the process dead.
instances = Table(
    "stackshift_instances",
    own_metadata,
    Column("msid", BigInteger, primary_key=True, autoincrement=False),
    Column("version", String(40), nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", DateTime, nullable=False),
    Column("heartbeat", DateTime, nullable=False, index=True),
    Column("draining", Integer, nullable=False, default=0),
    # The newest own-schema revision the process's code knows (migrate/revisions.py); a
    # contract revision waits while a process that predates it is alive.
    Column("schema_revision", String(64), nullable=True),
)

# Where each engine job stands: the next step to run and what earlier steps produced, so a
# job taken over from a dead process resumes instead of starting again.
job_progress = Table(
    "stackshift_job_progress",
    own_metadata,
    Column("job_id", BigInteger, primary_key=True, autoincrement=False),
    Column("process", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("state", String(4000), nullable=False),
    Column("updated", DateTime, nullable=False),
)

# SQLite only autoincrements an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer(), "sqlite")

# Which backend answers what. command, account (uuid) and domain (uuid) are '' for "any":
# MySQL unique keys treat NULLs as distinct, so '' keeps one row per scope.
routes = Table(
    "stackshift_routes",
    own_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subsystem", String(40), nullable=False),
    Column("command", String(100), nullable=False, default=""),
    Column("account", String(40), nullable=False, default=""),
    Column("domain", String(40), nullable=False, default=""),
    Column("backend", String(10), nullable=False),
    Column("percent", Integer, nullable=False, default=100),
    Column("shadow", Integer, nullable=False, default=0),
    Column("shadow_percent", Integer, nullable=False, default=100),
    Column("ignore_fields", String(1000), nullable=False, default=""),
    Column("updated", DateTime, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("reason", String(1000), nullable=False),
    UniqueConstraint(
        "subsystem", "command", "account", "domain", name="uq_stackshift_routes_scope"
    ),
)

# Every route change, who made it and why; MAX(id) is what running instances poll.
route_history = Table(
    "stackshift_route_history",
    own_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("who", String(100), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("action", String(10), nullable=False),
    Column("subsystem", String(40), nullable=False),
    Column("command", String(100), nullable=False),
    Column("account", String(40), nullable=False),
    Column("domain", String(40), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
)

# Shadow comparison (compat_api/shadow.py): per (command, field) counts, added up by every
# instance's periodic flush; `field` "*" is the whole answer.
shadow_fields = Table(
    "stackshift_shadow_fields",
    own_metadata,
    Column("command", String(100), primary_key=True),
    Column("field", String(255), primary_key=True),
    Column("samples", BigInteger, nullable=False, default=0),
    Column("diffs", BigInteger, nullable=False, default=0),
    Column("noise_samples", BigInteger, nullable=False, default=0),
    Column("noise_diffs", BigInteger, nullable=False, default=0),
    Column("updated", DateTime, nullable=False),
)

# The last few differing value pairs per (command, field), pruned on every flush.
shadow_examples = Table(
    "stackshift_shadow_examples",
    own_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("command", String(100), nullable=False),
    Column("field", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("path", String(1000), nullable=False),
    Column("primary_value", Text),
    Column("other_value", Text),
    Column("primary_backend", String(16), nullable=False),
    Column("seen", DateTime, nullable=False),
    Index("ix_stackshift_shadow_examples_field", "command", "field", "id"),
)
