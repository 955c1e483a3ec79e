"""Live stackshift processes: registration, heartbeat, and who counts as alive."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from migrate import revisions
from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.own_tables import instances


def new_msid() -> int:
    """A random 48-bit id, the size of CloudStack's management-server ids (MAC-derived)."""
    return secrets.randbits(47) | 1 << 47


async def register(db: Database, msid: int, version: str) -> None:
    now = utc_now()
    values: dict[str, object] = {
        "msid": msid,
        "version": version,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "started": now,
        "heartbeat": now,
        "draining": 0,
    }
    async with db.engine.begin() as conn:
        # A command-line tool may run before `stackshift db upgrade` added the column.
        if await conn.run_sync(_has_schema_revision):
            values["schema_revision"] = revisions.head()
        await conn.execute(insert(instances).values(**values))


def _has_schema_revision(conn: Connection) -> bool:
    columns = inspect(conn).get_columns(instances.name)
    return any(column["name"] == "schema_revision" for column in columns)


async def heartbeat(db: Database, msid: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            update(instances).where(instances.c.msid == msid).values(heartbeat=utc_now())
        )


async def set_draining(db: Database, msid: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(instances).where(instances.c.msid == msid).values(draining=1))


async def unregister(db: Database, msid: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(delete(instances).where(instances.c.msid == msid))


async def live_msids(conn: AsyncConnection, dead_after_seconds: float) -> list[int]:
    since = utc_now() - timedelta(seconds=dead_after_seconds)
    query = select(instances.c.msid).where(instances.c.heartbeat >= since)
    return [int(m) for m in (await conn.execute(query)).scalars()]
