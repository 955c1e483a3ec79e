"""DDL rendering hooks so legacy tables are created exactly as CloudStack's own scripts do.

MariaDB/MySQL: columns are rendered from their facts (full COLUMN_TYPE, charset, default,
extra) and every index goes inline into CREATE TABLE as a KEY. Inline keys matter: InnoDB
invents an index for each foreign key that lacks one, and a later CREATE INDEX with the
legacy name would then collide with it.

SQLite: index names are global to a database while MySQL scopes them to a table, so the
index name is prefixed with its table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import DDLCompiler, IdentifierPreparer
from sqlalchemy.sql.ddl import CreateColumn, CreateIndex, CreateTable

from schema_bridge.facts import ColumnFacts, IndexFacts, IndexPart, TableFacts
from schema_bridge.tables.columns import LEGACY_INFO_KEY

MYSQL_DIALECTS = ("mysql", "mariadb")


def column_definition(quoted_name: str, facts: ColumnFacts) -> str:
    """One column of a MariaDB CREATE TABLE, as information_schema would report it back."""
    parts = [quoted_name, facts["type"]]
    if "charset" in facts:
        parts.append(f"CHARACTER SET {facts['charset']}")
    if "collation" in facts:
        parts.append(f"COLLATE {facts['collation']}")
    parts.append("NULL" if facts["nullable"] else "NOT NULL")
    if facts["default"] is not None:
        parts.append(f"DEFAULT {facts['default']}")
    if facts["extra"]:
        parts.append(facts["extra"])
    return " ".join(parts)


def key_definition(preparer: IdentifierPreparer, name: str, facts: IndexFacts) -> str:
    """One inline `[UNIQUE] KEY name (cols)` clause, honouring prefix lengths."""
    columns = ", ".join(_key_part(preparer, part) for part in facts["columns"])
    kind = "UNIQUE KEY" if facts["unique"] else "KEY"
    return f"{kind} {preparer.quote(name)} ({columns})"


def _key_part(preparer: IdentifierPreparer, part: str | IndexPart) -> str:
    if isinstance(part, str):
        return preparer.quote(part)
    return f"{preparer.quote(part['name'])}({part['length']})"


def _create_column(element: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str:
    column = element.element
    facts: ColumnFacts | None = column.info.get(LEGACY_INFO_KEY)
    if facts is None:
        return str(compiler.visit_create_column(element, **kw))  # type: ignore[no-untyped-call]
    return column_definition(compiler.preparer.format_column(column), facts)


def _create_table(element: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    sql = str(compiler.visit_create_table(element, **kw))  # type: ignore[no-untyped-call]
    table: Table = element.element
    facts: TableFacts | None = table.info.get(LEGACY_INFO_KEY)
    if facts is None or not facts["indexes"]:
        return sql
    keys = "".join(
        f", \n\t{key_definition(compiler.preparer, name, index)}"
        for name, index in sorted(facts["indexes"].items())
    )
    # SQLAlchemy closes the element list with "\n)" before the table options.
    head, closing, options = sql.rpartition("\n)")
    return f"{head}{keys}{closing}{options}"


def _create_sqlite_index(element: CreateIndex, compiler: DDLCompiler, **kw: Any) -> str:
    index: Index = element.element
    if LEGACY_INFO_KEY not in index.info or index.table is None:
        return str(compiler.visit_create_index(element, **kw))  # type: ignore[no-untyped-call]
    preparer = compiler.preparer
    table_name = index.table.name
    columns = ", ".join(preparer.quote(column.name) for column in index.columns)
    unique = "UNIQUE " if index.unique else ""
    name = preparer.quote(f"{table_name}__{index.name}")
    return f"CREATE {unique}INDEX {name} ON {preparer.quote(table_name)} ({columns})"


def install() -> None:
    """Register the hooks; idempotent because `compiles` replaces per dialect name."""
    for dialect in MYSQL_DIALECTS:
        compiles(CreateColumn, dialect)(_create_column)
        compiles(CreateTable, dialect)(_create_table)
    compiles(CreateIndex, "sqlite")(_create_sqlite_index)
