"""Legacy management servers (`mshost`): which are Up, their versions, and the jobs still
pending on one that is gone.

A server counts as gone when it is not Up, is removed, or says Up but has not touched its
row for longer than CloudStack's own `cluster.heartbeat.threshold` default (150 s): it
crashed without saying so. A pending job whose owner (the executing server, else the one that
took it) is gone and is not a live stackshift instance will never finish: nobody runs it, and
its resource stays locked in a transitional state.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from migrate.checks import Finding, Target
from schema_bridge.dialect import utc_now
from schema_bridge.instances import live_msids
from schema_bridge.own_tables import instances
from schema_bridge.tables import async_job, mshost, version

NAME = "mshost"
STALE_AFTER = timedelta(seconds=150)
SHOWN_JOBS = 5


async def _database_now(conn: AsyncConnection) -> datetime:
    if conn.dialect.name == "sqlite":
        return utc_now()
    value = await conn.scalar(select(func.utc_timestamp()))
    assert isinstance(value, datetime)
    return value


async def _live_stackshift(conn: AsyncConnection, dead_after: float) -> set[int]:
    if not await conn.run_sync(lambda sync: inspect(sync).has_table(instances.name)):
        return set()
    return set(await live_msids(conn, dead_after))


def _is_up(row: Any, now: datetime) -> bool:
    fresh = row.last_update is not None and now - row.last_update <= STALE_AFTER
    return row.state == "Up" and row.removed is None and fresh


def _servers_line(rows: list[Any], now: datetime, schema_version: str | None) -> Finding:
    if not rows:
        return Finding("PASS", NAME, "no legacy management server has ever registered")
    up = [r for r in rows if _is_up(r, now)]
    down = len(rows) - len(up)
    listed = ", ".join(f"{r.name} ({r.version}, msid {r.msid})" for r in up) or "none"
    found = f"{len(up)} Up: {listed}; {down} not Up"
    stale = [r.name for r in rows if r.state == "Up" and r.removed is None and not _is_up(r, now)]
    if stale:
        found += f" (marked Up but silent for over {STALE_AFTER.seconds} s: {', '.join(stale)})"
    others = sorted({str(r.version) for r in up if r.version != schema_version})
    if others and schema_version:
        return Finding(
            "WARN",
            NAME,
            f"{found}; running {', '.join(others)} on a {schema_version} database",
            "finish the CloudStack upgrade on every management server first",
        )
    return Finding("PASS", NAME, found)


async def _orphans(conn: AsyncConnection, alive: set[int]) -> dict[int, list[str]]:
    owner = func.coalesce(async_job.c.job_executing_msid, async_job.c.job_init_msid)
    query = select(owner.label("owner"), async_job.c.uuid).where(async_job.c.job_status == 0)
    gone: dict[int, list[str]] = defaultdict(list)
    for row in await conn.execute(query):
        if row.owner is not None and int(row.owner) not in alive:
            gone[int(row.owner)].append(str(row.uuid))
    return gone


def _orphans_line(gone: dict[int, list[str]], names: dict[int, str]) -> Finding:
    if not gone:
        return Finding("PASS", "orphan_jobs", "no pending job waits on a gone management server")
    parts = []
    for msid, uuids in sorted(gone.items()):
        shown = ", ".join(uuids[:SHOWN_JOBS]) + (" ..." if len(uuids) > SHOWN_JOBS else "")
        parts.append(f"{len(uuids)} on {names.get(msid, 'unknown server')} (msid {msid}): {shown}")
    return Finding(
        "FAIL",
        "orphan_jobs",
        f"{sum(len(u) for u in gone.values())} pending jobs belong to a gone management "
        f"server: {'; '.join(parts)}",
        "start a legacy management server: CloudStack fails the jobs of a server that left "
        "the cluster when it starts; stackshift's own jobs are resumed by any live instance",
    )


async def run(target: Target) -> list[Finding]:
    async with target.db.engine.connect() as conn:
        now = await _database_now(conn)
        rows = list((await conn.execute(select(mshost).order_by(mshost.c.id))).all())
        newest = select(version.c.version).order_by(version.c.id.desc()).limit(1)
        schema_version = await conn.scalar(newest)
        stackshift = await _live_stackshift(conn, target.dead_after_seconds)
        up = {int(r.msid) for r in rows if _is_up(r, now)}
        gone = await _orphans(conn, up | stackshift)
    names = {int(r.msid): str(r.name) for r in rows}
    return [_servers_line(rows, now, schema_version), _orphans_line(gone, names)]
