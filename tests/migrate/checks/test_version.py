"""The version check's refusals, each with its message."""

from __future__ import annotations

from sqlalchemy import insert

from migrate.checks import Target
from migrate.checks import version as version_check
from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.seed import SeedResult
from schema_bridge.tables import version
from schema_bridge.version import database_name
from tests.compat_api.conftest import db_url_of

WHAT_TO_DO = (
    "point --db at the CloudStack `cloud` database, upgraded with CloudStack to a version in "
    "4.18-4.22 and not mid-upgrade"
)


async def _lines(db: Database) -> list[str]:
    return [f.line() for f in await version_check.run(Target(db=db, url=db_url_of(db)))]


async def _add_version(db: Database, value: str, step: str) -> str:
    async with db.engine.begin() as conn:
        await conn.execute(insert(version).values(version=value, updated=utc_now(), step=step))
        return await database_name(conn)


async def test_supported(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    assert await _lines(db) == ["PASS version: CloudStack 4.20.2.0 (supported: 4.18-4.22)"]


async def test_not_a_cloudstack_database(database: Database) -> None:
    async with database.engine.connect() as conn:
        name = await database_name(conn)
    assert await _lines(database) == [
        f"FAIL version: database {name!r} has no CloudStack `version` table; it is not a "
        f"CloudStack schema. To do: {WHAT_TO_DO}"
    ]


async def test_unsupported_version(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    name = await _add_version(db, "4.23.0.0", "Complete")
    assert await _lines(db) == [
        f"FAIL version: database {name!r} holds CloudStack 4.23.0.0; stackshift supports "
        f"4.18 to 4.22. To do: {WHAT_TO_DO}"
    ]


async def test_mid_upgrade(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    name = await _add_version(db, "4.21.0.0", "Upgrade")
    assert await _lines(db) == [
        f"FAIL version: database {name!r} is in the middle of an upgrade to CloudStack "
        f"4.21.0.0; finish or roll back the upgrade first. To do: {WHAT_TO_DO}"
    ]
