"""Rows of stackshift's browser-session table (ids and keys kept only as digests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.own_tables import sessions


@dataclass(frozen=True)
class SessionRow:
    id_digest: str
    key_digest: str
    user_id: int
    created: datetime
    last_seen: datetime
    timeout_s: int
    # The mapped legacy session (encrypted), when legacy is configured and logged in too.
    legacy_session: str | None = None
    legacy_key: str | None = None


async def insert(conn: AsyncConnection, row: SessionRow) -> None:
    await conn.execute(sessions.insert().values(**row.__dict__))


async def get(conn: AsyncConnection, id_digest: str) -> SessionRow | None:
    found = (await conn.execute(select(sessions).where(sessions.c.id_digest == id_digest))).first()
    return None if found is None else SessionRow(*found)


async def touch(conn: AsyncConnection, id_digest: str, when: datetime) -> None:
    await conn.execute(
        update(sessions).where(sessions.c.id_digest == id_digest).values(last_seen=when)
    )


async def remove(conn: AsyncConnection, id_digest: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.id_digest == id_digest))


async def remove_idle(conn: AsyncConnection, older_than: datetime) -> int:
    """Drop sessions whose last use is before `older_than` (each row's own timeout aside)."""
    result = await conn.execute(delete(sessions).where(sessions.c.last_seen < older_than))
    return int(result.rowcount or 0)


async def set_legacy(
    conn: AsyncConnection, id_digest: str, legacy_session: str, legacy_key: str
) -> None:
    await conn.execute(
        update(sessions)
        .where(sessions.c.id_digest == id_digest)
        .values(legacy_session=legacy_session, legacy_key=legacy_key)
    )
