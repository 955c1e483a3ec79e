"""Revision 0003: route tables and session columns, up and down, on both backends."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect

from migrate import schema as own_schema
from schema_bridge.db import Database


def _columns(sync_conn: object, table: str) -> set[str]:
    return {c["name"] for c in inspect(sync_conn).get_columns(table)}


async def test_0003_upgrades_and_downgrades(db_url: str, database: Database) -> None:
    await asyncio.to_thread(own_schema.upgrade, db_url, "0003_routes")
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        sessions = await conn.run_sync(_columns, "stackshift_sessions")
    assert {"stackshift_routes", "stackshift_route_history"} <= tables
    assert {"legacy_session", "legacy_key"} <= sessions
    assert await asyncio.to_thread(own_schema.current, db_url) == "0003_routes"
    await asyncio.to_thread(own_schema.upgrade, db_url, "0003_routes")
    await asyncio.to_thread(command.downgrade, own_schema._config(db_url), "0002_instances_jobs")
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        sessions = await conn.run_sync(_columns, "stackshift_sessions")
    assert "stackshift_routes" not in tables
    assert "legacy_session" not in sessions
