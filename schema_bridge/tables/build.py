"""Build SQLAlchemy Core Tables for the legacy schema from the shipped facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Dialect, ForeignKeyConstraint, Index, MetaData, Table
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.sql.ddl import BaseDDLElement

from schema_bridge.facts import (
    ForeignKeyFacts,
    IndexFacts,
    SchemaFacts,
    TableFacts,
    index_part_name,
)
from schema_bridge.tables.columns import LEGACY_INFO_KEY, build_column
from schema_bridge.tables.ddl import MYSQL_DIALECTS

# MariaDB reports an explicit RESTRICT as NO ACTION; leaving the clause out keeps RESTRICT.
_IMPLICIT_ACTION = "RESTRICT"


def _action(rule: str) -> str | None:
    return None if rule == _IMPLICIT_ACTION else rule


def _foreign_key(facts: ForeignKeyFacts) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        facts["columns"],
        [f"{facts['ref_table']}.{column}" for column in facts["ref_columns"]],
        name=facts["name"],
        ondelete=_action(facts["on_delete"]),
        onupdate=_action(facts["on_update"]),
    )


def _index(table: Table, name: str, facts: IndexFacts) -> Index:
    lengths = {
        part["name"]: part["length"] for part in facts["columns"] if not isinstance(part, str)
    }
    dialect_options: dict[str, Any] = (
        {"mysql_length": lengths, "mariadb_length": lengths} if lengths else {}
    )
    index = Index(
        name,
        *(table.c[index_part_name(part)] for part in facts["columns"]),
        unique=facts["unique"],
        info={LEGACY_INFO_KEY: facts},
        **dialect_options,
    )
    # MariaDB gets these keys inline in CREATE TABLE (see ddl.py); others need CREATE INDEX.
    return index.ddl_if(callable_=_unless_mysql)


def _unless_mysql(
    ddl: BaseDDLElement,
    target: SchemaItem | str,
    bind: Connection | None,
    tables: list[Table] | None = None,
    state: Any | None = None,
    *,
    dialect: Dialect,
    compiler: DDLCompiler | None = None,
    checkfirst: bool = False,
) -> bool:
    return dialect.name not in MYSQL_DIALECTS


def build_table(metadata: MetaData, name: str, facts: TableFacts) -> Table:
    """One Table with every legacy column, the primary key, indexes and foreign keys."""
    charset = facts["collation"].split("_", 1)[0]
    table = Table(
        name,
        metadata,
        *(build_column(column, facts["primary_key"]) for column in facts["columns"]),
        *(_foreign_key(foreign_key) for foreign_key in facts["foreign_keys"]),
        info={LEGACY_INFO_KEY: facts},
        mysql_engine=facts["engine"],
        mysql_charset=charset,
        mysql_collate=facts["collation"],
        mariadb_engine=facts["engine"],
        mariadb_charset=charset,
        mariadb_collate=facts["collation"],
    )
    for index_name, index_facts in sorted(facts["indexes"].items()):
        _index(table, index_name, index_facts)
    return table


def build_metadata(facts: SchemaFacts) -> MetaData:
    """A MetaData holding one Table per legacy table, in the facts' (alphabetical) order."""
    metadata = MetaData(info={LEGACY_INFO_KEY: facts["version"]})
    for name, table_facts in sorted(facts["tables"].items()):
        build_table(metadata, name, table_facts)
    return metadata
