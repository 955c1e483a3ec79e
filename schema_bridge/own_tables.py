"""stackshift's own tables, beside the legacy schema and never mixed with it.

Every name starts with `stackshift_`; Alembic (migrate/alembic) creates and versions them
and is configured to see nothing else.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table

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
