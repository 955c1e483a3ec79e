"""Clock skew between the database server and this host.

Heartbeats, job ages and `last_update` columns are written by several hosts and compared with
each other; instances are declared dead after 15 s of silence by default, so a skew of a few
seconds already matters.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text

from migrate.checks import Finding, Target

NAME = "clock"
WARN_SECONDS = 1.0
FAIL_SECONDS = 5.0


def host_now() -> float:
    return time.time()


async def _database_now(target: Target) -> tuple[datetime, float]:
    """The database's UTC time and this host's, sampled at the middle of the round trip."""
    query = "SELECT UTC_TIMESTAMP(6)"
    async with target.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # connection set up before timing
        before = host_now()
        value = await conn.scalar(text(query))
        after = host_now()
    db_now = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return db_now, (before + after) / 2


async def run(target: Target) -> list[Finding]:
    if target.db.backend == "sqlite":
        return [Finding("PASS", NAME, "SQLite runs on this host's clock")]
    db_now, here = await _database_now(target)
    skew = db_now.replace(tzinfo=UTC).timestamp() - here
    found = f"database clock is {abs(skew):.2f} s {'ahead of' if skew > 0 else 'behind'} this host"
    if abs(skew) >= FAIL_SECONDS:
        return [Finding("FAIL", NAME, found, "synchronise both clocks with NTP (chrony)")]
    if abs(skew) >= WARN_SECONDS:
        return [Finding("WARN", NAME, found, "synchronise both clocks with NTP (chrony)")]
    return [Finding("PASS", NAME, found)]
