"""Schema drift against legacy databases built with a column removed, added and retyped, on
SQLite and on a real MariaDB: each difference is one finding with its verdict."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from migrate.checks import Target
from migrate.checks import drift as drift_check
from migrate.checks.column_drift import (
    Live,
    extra_column_problem,
    mysql_type_problem,
    nullability_problems,
    sqlite_affinity,
    sqlite_type_problem,
)
from migrate.checks.used_tables import used_tables
from schema_bridge.db import Database
from tests.compat_api.conftest import db_url_of

MARIADB_CHANGES = (
    "ALTER TABLE instance_group DROP COLUMN created",
    "ALTER TABLE account ADD COLUMN operator_note varchar(64) NULL",
    "ALTER TABLE user ADD COLUMN badge int(11) NOT NULL",
    "ALTER TABLE ssh_keypairs MODIFY keypair_name varchar(64) NOT NULL",
    "ALTER TABLE ssh_keypairs MODIFY fingerprint varchar(255) NOT NULL",
    "ALTER TABLE instance_group MODIFY name int(11) NOT NULL",
    "ALTER TABLE instance_group MODIFY uuid varchar(40) NOT NULL",
)
# SQLite cannot retype a column: the table is created again from its edited definition.
SQLITE_CHANGES = {
    "instance_group": (
        ("\tcreated DATETIME, \n", ""),
        ("name VARCHAR(255) NOT NULL", "name INTEGER NOT NULL"),
        ("uuid VARCHAR(40),", "uuid VARCHAR(40) NOT NULL,"),
    ),
    "account": (("PRIMARY KEY (id)", "operator_note VARCHAR(64), PRIMARY KEY (id)"),),
    "user": (("PRIMARY KEY (id)", "badge INTEGER NOT NULL, PRIMARY KEY (id)"),),
    "ssh_keypairs": (
        ("keypair_name VARCHAR(256)", "keypair_name VARCHAR(64)"),
        ("fingerprint VARCHAR(128)", "fingerprint VARCHAR(255)"),
    ),
}
EXTRA_FAIL = "user.badge is an extra NOT NULL column without a default"
EXPECTED = {
    "mariadb": {
        ("FAIL", "instance_group.created is missing"),
        ("WARN", "account.operator_note is an extra column stackshift does not know"),
        ("FAIL", EXTRA_FAIL),
        ("FAIL", "ssh_keypairs.keypair_name is varchar(64), narrower than the declared"),
        ("WARN", "ssh_keypairs.fingerprint is varchar(255), wider than the declared"),
        ("FAIL", "instance_group.name is int(11), another type than the declared"),
        ("FAIL", "instance_group.uuid is NOT NULL but stackshift may write NULL there"),
    },
    "sqlite": {
        ("FAIL", "instance_group.created is missing"),
        ("WARN", "account.operator_note is an extra column stackshift does not know"),
        ("FAIL", EXTRA_FAIL),
        ("WARN", "ssh_keypairs.keypair_name is VARCHAR(64), declared VARCHAR(256) (same"),
        ("WARN", "ssh_keypairs.fingerprint is VARCHAR(255), declared VARCHAR(128) (same"),
        ("FAIL", "instance_group.name is INTEGER (INTEGER affinity), declared VARCHAR(255)"),
        ("FAIL", "instance_group.uuid is NOT NULL but stackshift may write NULL there"),
    },
}


async def _rebuild_sqlite(
    conn: AsyncConnection, name: str, edits: tuple[tuple[str, str], ...]
) -> None:
    query = text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name")
    ddl = str(await conn.scalar(query, {"name": name}))
    for old, new in edits:
        assert old in ddl, (name, old, ddl)
        ddl = ddl.replace(old, new)
    await conn.execute(text(f"DROP TABLE {name}"))
    await conn.execute(text(ddl))


async def break_schema(db: Database) -> None:
    if db.backend == "sqlite":
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
            for name, edits in SQLITE_CHANGES.items():
                await _rebuild_sqlite(conn, name, edits)
            await conn.commit()
        return
    async with db.engine.begin() as conn:
        for statement in MARIADB_CHANGES:
            await conn.execute(text(statement))


def _target(db: Database) -> Target:
    return Target(db=db, url=db_url_of(db))


async def test_a_declared_schema_has_no_drift(legacy_db: Database) -> None:
    findings = await drift_check.run(_target(legacy_db))
    assert [f.status for f in findings] == ["PASS"]
    assert re.match(r"the \d+ legacy tables stackshift reads or writes", findings[0].found)


async def test_removed_added_and_retyped_columns(legacy_db: Database, backend: str) -> None:
    await break_schema(legacy_db)
    findings = await drift_check.run(_target(legacy_db))
    assert all(f.name == "drift" for f in findings)
    found = {(f.status, f.found) for f in findings}
    for status, start in EXPECTED[backend]:
        assert any(s == status and text_.startswith(start) for s, text_ in found), (start, found)
    assert len(findings) == len(EXPECTED[backend]), findings  # nothing else, no PASS line
    fail = next(f for f in findings if f.found.startswith("instance_group.created"))
    assert fail.line() == (
        "FAIL drift: instance_group.created is missing. To do: restore the column as "
        "CloudStack defines it (compare with a fresh install of the same version), or run "
        "stackshift on a version it declares"
    )


async def test_a_missing_table_fails(legacy_db: Database) -> None:
    async with legacy_db.engine.begin() as conn:
        if legacy_db.backend == "sqlite":
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            await conn.execute(text("SET foreign_key_checks = 0"))
        await conn.execute(text("DROP TABLE user_statistics"))
    findings = await drift_check.run(_target(legacy_db))
    assert [(f.status, f.found) for f in findings] == [("FAIL", "table user_statistics is missing")]


def test_used_tables_are_the_ones_the_code_holds() -> None:
    used = used_tables()
    names = {t.name for t in used.tables}
    assert used.unimportable == ()
    # Read and written by the API and the engine; seeding-only tables are not in the set.
    assert {"vm_instance", "async_job", "user", "mshost", "annotations"} <= names
    assert "cloud_usage" not in names and "op_ha_work" not in names


@pytest.mark.parametrize(
    ("declared", "live", "status"),
    [
        ("bigint(20) unsigned", "bigint unsigned", None),  # MySQL 8 prints no display width
        ("int(10) unsigned", "bigint(20) unsigned", "WARN"),
        ("int(10) unsigned", "bigint(20)", "WARN"),
        ("bigint(20) unsigned", "int(10) unsigned", "FAIL"),
        ("int(10) unsigned", "int(11)", "FAIL"),
        ("varchar(40)", "varchar(255)", "WARN"),
        ("varchar(255)", "varchar(40)", "FAIL"),
        ("text", "mediumtext", "WARN"),
        ("mediumtext", "text", "FAIL"),
        ("datetime", "timestamp", "FAIL"),
        ("varchar(40)", "char(40)", "FAIL"),
        ("decimal(10,2)", "decimal(12,2)", "FAIL"),
    ],
)
def test_mysql_types(declared: str, live: str, status: str | None) -> None:
    problem = mysql_type_problem(declared, live)
    assert (problem.status if problem else None) == status


def test_sqlite_affinity() -> None:
    assert [
        sqlite_affinity(t) for t in ("BIGINT", "VARCHAR(40)", "BLOB", "DOUBLE", "DATETIME")
    ] == [
        "INTEGER",
        "TEXT",
        "BLOB",
        "REAL",
        "NUMERIC",
    ]
    assert sqlite_type_problem("BIGINT", "INTEGER") is not None
    assert sqlite_type_problem("DATETIME", "TEXT") is not None


def test_nullability_and_defaults() -> None:
    not_null = Live("int(11)", nullable=False, default=None)
    assert [p.status for p in nullability_problems(True, "NULL", not_null, False)] == ["FAIL"]
    assert [p.status for p in nullability_problems(False, "0", not_null, False)] == ["FAIL"]
    assert nullability_problems(False, None, not_null, False) == []
    nullable = Live("int(11)", nullable=True, default="NULL")
    assert [p.status for p in nullability_problems(False, None, nullable, False)] == ["WARN"]
    assert extra_column_problem(Live("int(11)", False, "0")).status == "WARN"
    assert (
        extra_column_problem(Live("bigint(20)", False, None, auto_increment=True)).status == "WARN"
    )
    assert extra_column_problem(not_null).status == "FAIL"
