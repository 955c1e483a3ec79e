"""Which CloudStack schema version a database holds, and whether stackshift supports it."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import version

SUPPORTED_RANGE: Final = ((4, 18), (4, 22))
COMPLETE: Final = "Complete"


class UnsupportedSchema(Exception):  # noqa: N818 - the name other modules catch
    """The database is not a CloudStack schema stackshift can serve; the text is one line."""


def parse_version(value: str) -> tuple[int, ...]:
    """'4.20.2.0' -> (4, 20, 2, 0); ValueError for anything that is not dotted numbers."""
    return tuple(int(part) for part in value.strip().split("."))


def is_supported(value: str) -> bool:
    """Whether major.minor of `value` lies within SUPPORTED_RANGE (inclusive)."""
    try:
        major_minor = parse_version(value)[:2]
    except ValueError:
        return False
    low, high = SUPPORTED_RANGE
    return low <= major_minor <= high


def _supported_text() -> str:
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_RANGE
    return f"stackshift supports {low_major}.{low_minor} to {high_major}.{high_minor}"


async def database_name(connection: AsyncConnection) -> str:
    """The database's name for messages: the schema on MariaDB, the file name on SQLite."""
    if connection.dialect.name == "sqlite":
        rows = (await connection.execute(text("PRAGMA database_list"))).all()
        main = next((row[2] for row in rows if row[1] == "main"), "")
        return Path(main).name if main else ":memory:"
    return str(await connection.scalar(text("SELECT DATABASE()")))


def _has_version_table(connection: Connection) -> bool:
    return inspect(connection).has_table(version.name)


async def current_version(connection: AsyncConnection) -> str | None:
    """The newest completed version row (CloudStack's own rule), None without the table."""
    if not await connection.run_sync(_has_version_table):
        return None
    newest = select(version.c.version, version.c.step).order_by(version.c.id.desc()).limit(1)
    completed = (
        select(version.c.version)
        .where(version.c.step == COMPLETE)
        .order_by(version.c.id.desc())
        .limit(1)
    )
    row = (await connection.execute(newest)).first()
    if row is None:
        return ""
    if row.step != COMPLETE:
        raise UnsupportedSchema(
            f"database {await database_name(connection)!r} is in the middle of an upgrade "
            f"to CloudStack {row.version}; finish or roll back the upgrade first"
        )
    return str(await connection.scalar(completed))


async def check_schema(connection: AsyncConnection) -> str:
    """The current CloudStack version of the database, or UnsupportedSchema saying why not."""
    found = await current_version(connection)
    name = await database_name(connection)
    if found is None:
        raise UnsupportedSchema(
            f"database {name!r} has no CloudStack `version` table; it is not a CloudStack schema"
        )
    if found == "":
        raise UnsupportedSchema(f"database {name!r} has an empty CloudStack `version` table")
    if not is_supported(found):
        raise UnsupportedSchema(f"database {name!r} holds CloudStack {found}; {_supported_text()}")
    return found
