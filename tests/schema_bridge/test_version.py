"""Schema version checks: 4.18 to 4.22 served, anything else refused in one clear line."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.tables import version as version_table
from schema_bridge.version import (
    UnsupportedSchema,
    check_schema,
    database_name,
    is_supported,
    parse_version,
)


async def _versions(db: Database, *rows: tuple[str, str]) -> str:
    async with db.engine.begin() as connection:
        await connection.run_sync(version_table.create)
        for value, step in rows:
            await connection.execute(
                insert(version_table).values(version=value, updated=utc_now(), step=step)
            )
        return await database_name(connection)


async def _check(db: Database) -> str:
    async with db.engine.connect() as connection:
        return await check_schema(connection)


@pytest.mark.parametrize("current", ["4.18.0.0", "4.19.1.0", "4.20.2.0", "4.21.0.0", "4.22.0.0"])
async def test_supported_versions_are_returned(database: Database, current: str) -> None:
    await _versions(database, ("4.17.2.0", "Complete"), (current, "Complete"))
    assert await _check(database) == current


@pytest.mark.parametrize("current", ["4.17.2.0", "4.23.0.0", "3.0.7"])
async def test_other_versions_are_refused(database: Database, current: str) -> None:
    name = await _versions(database, ("4.0.0", "Complete"), (current, "Complete"))
    with pytest.raises(UnsupportedSchema) as raised:
        await _check(database)
    assert str(raised.value) == (
        f"database {name!r} holds CloudStack {current}; stackshift supports 4.18 to 4.22"
    )


async def test_newest_row_wins_even_when_lower(database: Database) -> None:
    # The 4.4.3 -> 4.4.4 upgrade step runs after 4.5.0, so "newest" means highest id.
    await _versions(database, ("4.20.0.0", "Complete"), ("4.18.1.0", "Complete"))
    assert await _check(database) == "4.18.1.0"


async def test_missing_version_table(database: Database) -> None:
    async with database.engine.connect() as connection:
        name = await database_name(connection)
    with pytest.raises(UnsupportedSchema) as raised:
        await _check(database)
    assert str(raised.value) == (
        f"database {name!r} has no CloudStack `version` table; it is not a CloudStack schema"
    )


async def test_unfinished_upgrade(database: Database) -> None:
    await _versions(database, ("4.19.1.0", "Complete"), ("4.20.0.0", "Upgrade"))
    with pytest.raises(UnsupportedSchema, match=r"in the middle of an upgrade to CloudStack 4\.20"):
        await _check(database)


async def test_empty_version_table(database: Database) -> None:
    await _versions(database)
    with pytest.raises(UnsupportedSchema, match="empty CloudStack `version` table"):
        await _check(database)


async def test_seeded_database_is_supported(seeded_db: tuple[Database, object]) -> None:
    db, _ = seeded_db
    assert await _check(db) == "4.20.2.0"


def test_version_parsing() -> None:
    assert parse_version("4.20.2.0") == (4, 20, 2, 0)
    assert is_supported("4.22.9.9")
    assert not is_supported("not-a-version")
