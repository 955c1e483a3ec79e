"""A fresh CloudStack 4.20.2.0 install: every legacy table plus the rows the installer,
the upgrade chain and the first management-server start leave behind (from the facts).

Rows are made this installation's own on the way in: uuids are regenerated (time-based
where the SQL scripts used MySQL UUID(), random where Java created the row), timestamps
become the install time, and the admin gets a fresh PBKDF2 hash of "password".
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, DateTime, Table, insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.db import (
    Database,
    create_database_if_missing,
    mysql_database_name,
    open_database,
)
from schema_bridge.dialect import utc_now
from schema_bridge.facts import load_seed_facts
from schema_bridge.passwords import encode_pbkdf2
from schema_bridge.tables import legacy_metadata

ADMIN_USER_ID: Final = 2
DEFAULT_ADMIN_PASSWORD: Final = "password"  # noqa: S105 - CloudStack's documented default
SYSTEM_USER_ID: Final = 1


def _create_missing_tables(connection: Connection) -> None:
    # One name lookup instead of SQLAlchemy's per-table existence check.
    existing = set(inspect(connection).get_table_names())
    missing = [table for table in legacy_metadata.sorted_tables if table.name not in existing]
    legacy_metadata.create_all(connection, tables=missing, checkfirst=False)


async def create_legacy_schema(db: Database) -> None:
    """Create every legacy table (no rows); existing tables are left alone."""
    async with db.engine.begin() as connection:
        await connection.run_sync(_create_missing_tables)


def _fresh_uuid(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return value  # e.g. hypervisor_capabilities keeps numbers in its uuid column
    return str(uuid.uuid1() if parsed.version == 1 else uuid.uuid4())


def _install_row(table: Table, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    fresh = dict(row)
    for name, value in row.items():
        if value is None:
            continue
        if isinstance(table.c[name].type, DateTime):
            fresh[name] = now
        elif name == "uuid":
            fresh[name] = _fresh_uuid(value)
    return fresh


def _first_start_user(row: dict[str, Any]) -> dict[str, Any]:
    if row["id"] == ADMIN_USER_ID:
        return {**row, "password": encode_pbkdf2(DEFAULT_ADMIN_PASSWORD)}
    if row["id"] == SYSTEM_USER_ID:
        # CloudStack stores the text of MySQL RAND(): nobody can log in as `system`.
        return {**row, "password": f"0.{secrets.randbelow(10**16):016d}"}
    return row


def fresh_install_rows(now: datetime) -> list[tuple[Table, list[dict[str, Any]]]]:
    """(table, rows) for every table a fresh install fills, parents before children."""
    seed = load_seed_facts()["tables"]
    ordered: list[tuple[Table, list[dict[str, Any]]]] = []
    for table in legacy_metadata.sorted_tables:
        rows = seed.get(table.name)
        if not rows:
            continue
        prepared = [_install_row(table, row, now) for row in rows]
        if table.name == "user":
            prepared = [_first_start_user(row) for row in prepared]
        ordered.append((table, prepared))
    return ordered


async def insert_row(connection: AsyncConnection, table: Table, **values: Any) -> int:
    """Insert one row and return its primary key (explicit or generated)."""
    result = await connection.execute(insert(table).values(**values))
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError(f"no primary key returned for an insert into {table.name}")
    return int(key[0])


async def load_fresh_install(connection: AsyncConnection) -> None:
    """Insert the fresh-install rows into empty legacy tables."""
    for table, rows in fresh_install_rows(utc_now()):
        await connection.execute(insert(table), rows)


async def clone_mysql_database(source_url: str, target_url: str) -> None:
    """Copy a legacy MariaDB database (tables and rows) into a new database.

    Much faster than seeding again, so tests clone one seeded template per test.
    """
    await create_database_if_missing(target_url)
    source = mysql_database_name(source_url)
    target = await open_database(target_url)
    try:
        await create_legacy_schema(target)
        async with target.engine.begin() as connection:
            await connection.execute(text("SET SESSION foreign_key_checks = 0"))
            for table in legacy_metadata.sorted_tables:
                # Both names are plain identifiers: ours, or checked by mysql_database_name.
                copy = f"INSERT INTO `{table.name}` SELECT * FROM `{source}`.`{table.name}`"  # noqa: S608
                await connection.execute(text(copy))
            await connection.execute(text("SET SESSION foreign_key_checks = 1"))
    finally:
        await target.dispose()
