"""Read a live MariaDB/MySQL schema back into the facts' shape and list differences.

Used by tests to prove our DDL reproduces the legacy schema, and by operator checks to
spot drift between a real CloudStack database and what stackshift expects.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.facts import ColumnFacts, ForeignKeyFacts, IndexFacts, IndexPart, TableFacts

_TABLES = text(
    "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"
)
_COLUMNS = text(
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, "
    "COLUMN_KEY, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION"
)
_STATISTICS = text(
    "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART, NON_UNIQUE, INDEX_TYPE "
    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
    "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
)
_FOREIGN_KEYS = text(
    "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, "
    "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE "
    "FROM information_schema.KEY_COLUMN_USAGE k "
    "JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
    "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
    "AND r.TABLE_NAME = k.TABLE_NAME "
    "WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL "
    "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
)


def _column(row: Any) -> ColumnFacts:
    column = ColumnFacts(
        name=row.COLUMN_NAME,
        type=row.COLUMN_TYPE,
        nullable=row.IS_NULLABLE == "YES",
        default=row.COLUMN_DEFAULT,
        extra=row.EXTRA,
        key=row.COLUMN_KEY,
    )
    if row.CHARACTER_SET_NAME is not None:
        column["charset"] = row.CHARACTER_SET_NAME
    if row.COLLATION_NAME is not None:
        column["collation"] = row.COLLATION_NAME
    return column


def _index_part(row: Any) -> str | IndexPart:
    if row.SUB_PART is None:
        return str(row.COLUMN_NAME)
    return IndexPart(name=row.COLUMN_NAME, length=int(row.SUB_PART))


def _add_index(table: TableFacts, row: Any) -> None:
    if row.INDEX_NAME == "PRIMARY":
        table["primary_key"].append(row.COLUMN_NAME)
        return
    index = table["indexes"].setdefault(
        row.INDEX_NAME,
        IndexFacts(columns=[], unique=int(row.NON_UNIQUE) == 0, type=row.INDEX_TYPE),
    )
    index["columns"].append(_index_part(row))


def _add_foreign_key_column(keys: dict[tuple[str, str], ForeignKeyFacts], row: Any) -> None:
    key = keys.setdefault(
        (row.TABLE_NAME, row.CONSTRAINT_NAME),
        ForeignKeyFacts(
            name=row.CONSTRAINT_NAME,
            columns=[],
            ref_table=row.REFERENCED_TABLE_NAME,
            ref_columns=[],
            on_delete=row.DELETE_RULE,
            on_update=row.UPDATE_RULE,
        ),
    )
    key["columns"].append(row.COLUMN_NAME)
    key["ref_columns"].append(row.REFERENCED_COLUMN_NAME)


async def read_mysql_schema(connection: AsyncConnection) -> dict[str, TableFacts]:
    """Every base table of the connection's current database, as TableFacts."""
    tables: dict[str, TableFacts] = {}
    for row in await connection.execute(_TABLES):
        tables[row.TABLE_NAME] = TableFacts(
            engine=row.ENGINE,
            collation=row.TABLE_COLLATION,
            columns=[],
            primary_key=[],
            unique=[],
            indexes={},
            foreign_keys=[],
        )
    for row in await connection.execute(_COLUMNS):
        if row.TABLE_NAME in tables:
            tables[row.TABLE_NAME]["columns"].append(_column(row))
    for row in await connection.execute(_STATISTICS):
        _add_index(tables[row.TABLE_NAME], row)
    foreign_keys: dict[tuple[str, str], ForeignKeyFacts] = {}
    for row in await connection.execute(_FOREIGN_KEYS):
        _add_foreign_key_column(foreign_keys, row)
    for (table_name, _), foreign_key in sorted(foreign_keys.items()):
        tables[table_name]["foreign_keys"].append(foreign_key)
    for table in tables.values():
        table["unique"] = _unique_column_lists(table)
    return tables


def _unique_column_lists(table: TableFacts) -> list[list[str]]:
    return [
        [part if isinstance(part, str) else part["name"] for part in index["columns"]]
        for _, index in sorted(table["indexes"].items())
        if index["unique"]
    ]


def diff_table(name: str, expected: TableFacts, actual: TableFacts) -> list[str]:
    """Human-readable differences between two descriptions of one table (empty if equal)."""
    pairs: list[tuple[str, object, object]] = [
        ("engine", expected["engine"], actual["engine"]),
        ("collation", expected["collation"], actual["collation"]),
        ("primary key", expected["primary_key"], actual["primary_key"]),
        ("indexes", expected["indexes"], actual["indexes"]),
        ("unique keys", sorted(expected["unique"]), sorted(actual["unique"])),
        ("foreign keys", _by_name(expected["foreign_keys"]), _by_name(actual["foreign_keys"])),
    ]
    problems = [f"{name}: {what} {want!r} != {got!r}" for what, want, got in pairs if want != got]
    return problems + _column_problems(name, expected["columns"], actual["columns"])


def _column_problems(
    table: str, expected: list[ColumnFacts], actual: list[ColumnFacts]
) -> list[str]:
    if [c["name"] for c in expected] != [c["name"] for c in actual]:
        return [
            f"{table}: columns {[c['name'] for c in expected]} != {[c['name'] for c in actual]}"
        ]
    return [
        f"{table}.{want['name']}: {want} != {got}"
        for want, got in zip(expected, actual, strict=True)
        if want != got
    ]


def _by_name(foreign_keys: list[ForeignKeyFacts]) -> dict[str, ForeignKeyFacts]:
    return {key["name"]: key for key in foreign_keys}


def diff_schema(expected: dict[str, TableFacts], actual: dict[str, TableFacts]) -> list[str]:
    """Differences between expected tables and a live schema; extra live tables are ignored."""
    problems = [f"{name}: missing" for name in sorted(set(expected) - set(actual))]
    for name in sorted(set(expected) & set(actual)):
        problems.extend(diff_table(name, expected[name], actual[name]))
    return problems
