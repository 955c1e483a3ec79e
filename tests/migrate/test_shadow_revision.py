"""Revision 0004_shadow: one head, upgrade and downgrade on both backends."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from migrate import schema as own_schema
from schema_bridge.db import open_database

TABLES = {"stackshift_shadow_fields", "stackshift_shadow_examples"}


def test_single_head_follows_routes() -> None:
    config = Config()
    config.set_main_option("script_location", "migrate/alembic")
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    revision = script.get_revision("0004_shadow")
    assert revision is not None
    assert revision.down_revision == "0003_routes"


async def _tables(url: str) -> set[str]:
    db = await open_database(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.dispose()


async def test_upgrade_and_downgrade(db_url: str) -> None:
    await asyncio.to_thread(own_schema.upgrade, db_url, "0004_shadow")
    assert await _tables(db_url) >= TABLES
    await asyncio.to_thread(_downgrade, db_url, "0003_routes")
    assert not TABLES & await _tables(db_url)
    assert own_schema.current(db_url) == "0003_routes"


def _downgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", "migrate/alembic")
    config.set_main_option("sqlalchemy.url", own_schema.sync_url(url).replace("%", "%%"))
    command.downgrade(config, revision)
