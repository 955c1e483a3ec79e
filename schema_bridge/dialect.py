"""The few SQL constructs that differ between MariaDB and SQLite, as portable statements.

Callers build one statement; each construct renders correctly on whichever engine runs it,
so no code outside schema_bridge needs to know which backend it talks to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Insert, Select, Table, insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SelectT = TypeVar("SelectT", bound=Select[Any])


def utc_now() -> datetime:
    """Now in UTC, naive and whole seconds, as CloudStack stores DATETIME columns."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class sql_utc_now(FunctionElement[datetime]):  # noqa: N801 - reads like the SQL function it is
    """The database's current UTC time as a SQL expression (for `SET removed = ...`)."""

    type = DateTime()
    inherit_cache = True


@compiles(sql_utc_now, "mysql")
@compiles(sql_utc_now, "mariadb")
def _mysql_utc_now(element: sql_utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "UTC_TIMESTAMP()"


@compiles(sql_utc_now, "sqlite")
def _sqlite_utc_now(element: sql_utc_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "datetime('now')"


def insert_ignore(table: Table) -> Insert:
    """INSERT that skips rows violating a unique key: MySQL `INSERT IGNORE`, SQLite `OR IGNORE`."""
    return (
        insert(table)
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
        .prefix_with("OR IGNORE", dialect="sqlite")
    )


def for_update(select: SelectT, *, skip_locked: bool = False) -> SelectT:
    """Lock the selected rows: `FOR UPDATE [SKIP LOCKED]` on MariaDB.

    SQLite renders nothing here; its writers are serialised instead because every
    transaction starts with BEGIN IMMEDIATE (see `db.py`).
    """
    return select.with_for_update(skip_locked=skip_locked)
