"""Typed access to the shipped legacy-schema facts (regenerate: scripts/extract_schema_facts.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

FACTS_DIR = Path(__file__).resolve().parent
SCHEMA_PATH = FACTS_DIR / "legacy_schema.json"
SEED_PATH = FACTS_DIR / "legacy_seed.json"


class ColumnFacts(TypedDict):
    name: str
    type: str
    nullable: bool
    default: str | None
    extra: str
    key: str
    charset: NotRequired[str]
    collation: NotRequired[str]


class IndexPart(TypedDict):
    name: str
    length: int


class IndexFacts(TypedDict):
    columns: list[str | IndexPart]
    unique: bool
    type: str


class ForeignKeyFacts(TypedDict):
    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    on_delete: str
    on_update: str


class TableFacts(TypedDict):
    engine: str
    collation: str
    columns: list[ColumnFacts]
    primary_key: list[str]
    unique: list[list[str]]
    indexes: dict[str, IndexFacts]
    foreign_keys: list[ForeignKeyFacts]


class ViewColumnFacts(TypedDict):
    name: str
    type: str
    nullable: bool


class ViewFacts(TypedDict):
    columns: list[ViewColumnFacts]


class SchemaFacts(TypedDict):
    version: str
    tables: dict[str, TableFacts]
    views: dict[str, ViewFacts]


class SeedFacts(TypedDict):
    version: str
    tables: dict[str, list[dict[str, Any]]]


@cache
def load_schema_facts() -> SchemaFacts:
    """Columns, keys, indexes and foreign keys of every `cloud` table of CloudStack 4.20.2.0."""
    return cast(SchemaFacts, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@cache
def load_seed_facts() -> SeedFacts:
    """Rows a fresh 4.20.2.0 install holds, per table, in id order."""
    return cast(SeedFacts, json.loads(SEED_PATH.read_text(encoding="utf-8")))


def index_part_name(part: str | IndexPart) -> str:
    """Column name of an index part, whether or not it carries a prefix length."""
    return part if isinstance(part, str) else part["name"]
