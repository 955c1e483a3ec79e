"""Shadow comparison counters and example pairs in our own tables.

Counters are added to, never overwritten, so any number of instances can flush into the
same rows; examples are pruned to the newest few per (command, field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, delete, insert, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.own_tables import shadow_examples, shadow_fields

FIELD_CHARS = 255
PATH_CHARS = 1000
_COUNTERS = ("samples", "diffs", "noise_samples", "noise_diffs")


@dataclass(frozen=True)
class FieldRow:
    command: str
    field: str
    samples: int
    diffs: int
    noise_samples: int
    noise_diffs: int


@dataclass(frozen=True)
class ExampleRow:
    command: str
    field: str
    kind: str
    path: str
    primary_value: str | None
    other_value: str | None
    primary_backend: str
    seen: datetime


def _field_name(name: str) -> str:
    return name[:FIELD_CHARS]


def _upsert(db: Database) -> Insert:
    """INSERT that adds the counters to an existing row instead of failing."""
    if db.is_mysql:
        stmt = mysql.insert(shadow_fields)
        return stmt.on_duplicate_key_update(
            {name: shadow_fields.c[name] + stmt.inserted[name] for name in _COUNTERS}
            | {"updated": stmt.inserted.updated}
        )
    lite = sqlite.insert(shadow_fields)
    return lite.on_conflict_do_update(
        index_elements=["command", "field"],
        set_={name: shadow_fields.c[name] + lite.excluded[name] for name in _COUNTERS}
        | {"updated": lite.excluded.updated},
    )


async def add(
    db: Database, rows: Sequence[FieldRow], examples: Sequence[ExampleRow], keep: int
) -> None:
    """Add counts and examples in one transaction, then prune examples beyond `keep`."""
    now = utc_now()
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row.command, _field_name(row.field))
        values = merged.setdefault(
            key, {"command": key[0], "field": key[1], "updated": now, **dict.fromkeys(_COUNTERS, 0)}
        )
        for name in _COUNTERS:
            values[name] += getattr(row, name)
    async with db.engine.begin() as conn:
        # Sorted keys: two instances flushing at once lock rows in the same order.
        if merged:
            await conn.execute(_upsert(db), [merged[k] for k in sorted(merged)])
        if examples:
            await conn.execute(insert(shadow_examples), [_example_values(e) for e in examples])
            await _prune(conn, {(e.command, _field_name(e.field)) for e in examples}, keep)


def _example_values(example: ExampleRow) -> dict[str, Any]:
    return {
        "command": example.command,
        "field": _field_name(example.field),
        "kind": example.kind,
        "path": example.path[:PATH_CHARS],
        "primary_value": example.primary_value,
        "other_value": example.other_value,
        "primary_backend": example.primary_backend,
        "seen": example.seen,
    }


async def _prune(conn: AsyncConnection, keys: Iterable[tuple[str, str]], keep: int) -> None:
    for command, field in sorted(keys):
        where = (shadow_examples.c.command == command) & (shadow_examples.c.field == field)
        # MariaDB cannot delete from a table it selects from in a subquery: two statements.
        oldest_kept = (
            await conn.execute(
                select(shadow_examples.c.id)
                .where(where)
                .order_by(shadow_examples.c.id.desc())
                .offset(max(keep - 1, 0))
                .limit(1)
            )
        ).scalar()
        if oldest_kept is not None:
            await conn.execute(
                delete(shadow_examples).where(where, shadow_examples.c.id < oldest_kept)
            )


async def fields(db: Database, command: str | None = None) -> list[FieldRow]:
    query = select(shadow_fields).order_by(shadow_fields.c.command, shadow_fields.c.field)
    if command is not None:
        query = query.where(shadow_fields.c.command == command)
    async with db.reader.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [FieldRow(r["command"], r["field"], *(int(r[name]) for name in _COUNTERS)) for r in rows]


async def examples(db: Database, command: str | None = None) -> list[ExampleRow]:
    """Every stored example, newest first."""
    query = select(shadow_examples).order_by(shadow_examples.c.id.desc())
    if command is not None:
        query = query.where(shadow_examples.c.command == command)
    async with db.reader.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        ExampleRow(
            r["command"],
            r["field"],
            r["kind"],
            r["path"],
            r["primary_value"],
            r["other_value"],
            r["primary_backend"],
            r["seen"],
        )
        for r in rows
    ]
