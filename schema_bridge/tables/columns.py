"""Map one legacy column's facts to a portable SQLAlchemy Column.

Python-side types are generic so the same Table works on SQLite; the exact MySQL/MariaDB
column definition is rendered from the facts kept in `Column.info` (see `mysql_ddl`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeEngine

from schema_bridge.facts import ColumnFacts

LEGACY_INFO_KEY = "legacy_facts"

_INTEGER = re.compile(r"^(tinyint|smallint|int|bigint)\((\d+)\)( unsigned)?$")
_SIZED = re.compile(r"^(varchar|char)\((\d+)\)$")
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_UNSIZED: dict[str, TypeEngine[Any]] = {
    "text": Text(),
    "mediumtext": Text(),
    "blob": LargeBinary(),
    "datetime": DateTime(),
    "timestamp": DateTime(),
    "double": Double(),
}
_INTEGER_TYPES: dict[str, type[TypeEngine[int]]] = {
    "tinyint": SmallInteger,
    "smallint": SmallInteger,
    "int": Integer,
    "bigint": BigInteger,
}


def generic_type(column_type: str, primary_key: bool = False) -> TypeEngine[Any]:
    """The portable SQLAlchemy type for a MariaDB COLUMN_TYPE such as `bigint(20) unsigned`."""
    integer = _INTEGER.match(column_type)
    if integer:
        base, width = integer.group(1), int(integer.group(2))
        # CloudStack maps Java booleans to tinyint(1); int(1) also holds small enums.
        if base == "tinyint" and width == 1:
            return Boolean()
        engine_type: TypeEngine[Any] = _INTEGER_TYPES[base]()
        # SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
        return engine_type.with_variant(Integer(), "sqlite") if primary_key else engine_type
    sized = _SIZED.match(column_type)
    if sized:
        length = int(sized.group(2))
        return String(length) if sized.group(1) == "varchar" else CHAR(length)
    decimal = _DECIMAL.match(column_type)
    if decimal:
        return Numeric(int(decimal.group(1)), int(decimal.group(2)))
    if column_type in _UNSIZED:
        return _UNSIZED[column_type]
    raise ValueError(f"unmapped legacy column type {column_type!r}")


def server_default(default: str | None) -> TextClause | None:
    """A portable server default from an information_schema COLUMN_DEFAULT literal."""
    if default is None or default == "NULL":
        return None
    if default.lower() == "current_timestamp()":
        return text("CURRENT_TIMESTAMP")
    return text(default)


def build_column(facts: ColumnFacts, primary_key: list[str]) -> Column[Any]:
    """A Column carrying its facts in `info`, for DDL rendering and schema comparison."""
    is_pk = facts["name"] in primary_key
    return Column(
        facts["name"],
        generic_type(facts["type"], primary_key=is_pk),
        primary_key=is_pk,
        nullable=facts["nullable"],
        autoincrement=facts["extra"] == "auto_increment",
        server_default=server_default(facts["default"]),
        info={LEGACY_INFO_KEY: facts},
    )
