"""Opening databases, and the dialect constructs that must behave alike on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects import mysql, sqlite

from schema_bridge.db import (
    Database,
    database_exists,
    drop_database,
    mysql_database_name,
    normalise_url,
    open_database,
    server_version,
)
from schema_bridge.dialect import for_update, insert_ignore, sql_utc_now, utc_now
from schema_bridge.tables import role_permissions, roles, sequence


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("mysql://u:p@db:3306/cloud", "mysql+asyncmy"),
        ("mysql+pymysql://u:p@db/cloud", "mysql+asyncmy"),
        ("mariadb://u@db/cloud", "mysql+asyncmy"),
        ("sqlite:///var/cloud.db", "sqlite+aiosqlite"),
    ],
)
def test_urls_map_to_async_drivers(url: str, driver: str) -> None:
    normalised = normalise_url(url)
    assert normalised.drivername == driver
    if driver.startswith("mysql"):
        assert normalised.query["charset"] == "utf8mb4"


def test_bare_path_is_a_sqlite_file(tmp_path: Path) -> None:
    normalised = normalise_url(str(tmp_path / "x.db"))
    assert normalised.drivername == "sqlite+aiosqlite"
    assert normalised.database == str(tmp_path / "x.db")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalise_url("postgresql://db/cloud")


def test_database_names_must_be_plain_identifiers() -> None:
    assert mysql_database_name("mysql://root@h/ss_test_1") == "ss_test_1"
    with pytest.raises(ValueError, match="invalid MariaDB database name"):
        mysql_database_name("mysql://root@h/x`; DROP")


async def test_password_is_hidden_for_logs() -> None:
    db = await open_database("mysql://cloud:s3cret@127.0.0.1:1/cloud")
    try:
        assert "s3cret" not in db.display_url
        assert db.is_mysql
    finally:
        await db.dispose()


async def test_sqlite_connection_settings(tmp_path: Path) -> None:
    db = await open_database(str(tmp_path / "p.db"))
    try:
        async with db.engine.connect() as connection:
            pragmas = [
                await connection.scalar(text(f"PRAGMA {name}"))
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            ]
    finally:
        await db.dispose()
    assert pragmas == [1, "wal", 10000]


@pytest.mark.mariadb
async def test_mariadb_session_is_utc_and_strict(mariadb_url: str) -> None:
    db = await open_database(mariadb_url)
    try:
        async with db.engine.connect() as connection:
            zone = await connection.scalar(text("SELECT @@session.time_zone"))
            mode = await connection.scalar(text("SELECT @@session.sql_mode"))
            version = await server_version(connection)
    finally:
        await db.dispose()
    assert zone == "+00:00"
    assert "STRICT_TRANS_TABLES" in mode
    assert "NO_ZERO_DATE" in mode
    assert "MariaDB" in version


@pytest.mark.mariadb
async def test_create_and_drop_database(mariadb_url: str) -> None:
    assert await database_exists(mariadb_url)
    await drop_database(mariadb_url)
    assert not await database_exists(mariadb_url)


async def test_insert_ignore_skips_duplicates(legacy_db: Database) -> None:
    async with legacy_db.engine.begin() as connection:
        await connection.execute(insert(sequence).values(name="a_seq", value=5))
        await connection.execute(insert_ignore(sequence).values(name="a_seq", value=9))
        await connection.execute(insert_ignore(sequence).values(name="b_seq", value=1))
        rows = (await connection.execute(select(sequence).order_by(sequence.c.name))).all()
    assert [tuple(row) for row in rows] == [("a_seq", 5), ("b_seq", 1)]


async def test_insert_ignore_respects_composite_unique_keys(legacy_db: Database) -> None:
    async with legacy_db.engine.begin() as connection:
        await connection.execute(
            insert(roles).values(id=1, uuid="r", name="Admin", role_type="Admin")
        )
        rule = {"uuid": "p1", "role_id": 1, "rule": "list*", "permission": "ALLOW", "sort_order": 0}
        await connection.execute(insert_ignore(role_permissions).values(**rule))
        await connection.execute(insert_ignore(role_permissions).values(**{**rule, "uuid": "p2"}))
        count = await connection.scalar(select(func.count()).select_from(role_permissions))
    assert count == 1


async def test_sql_utc_now_agrees_with_python(database: Database) -> None:
    async with database.engine.connect() as connection:
        database_now = await connection.scalar(select(sql_utc_now()))
    assert database_now is not None
    assert abs(database_now - utc_now()) < timedelta(seconds=5)


def test_for_update_renders_per_dialect() -> None:
    query = for_update(select(sequence.c.value), skip_locked=True)
    assert "FOR UPDATE SKIP LOCKED" in str(query.compile(dialect=mysql.dialect()))
    assert "FOR UPDATE" not in str(query.compile(dialect=sqlite.dialect()))


async def test_sqlite_readers_do_not_block_writers(legacy_db: Database) -> None:
    async with legacy_db.reader.connect() as reader:
        await reader.scalar(select(func.count()).select_from(sequence))
        assert reader.in_transaction()
        async with legacy_db.engine.begin() as writer:
            await writer.execute(insert(sequence).values(name="w_seq", value=1))
        assert await reader.scalar(select(func.count()).select_from(sequence)) in (0, 1)
