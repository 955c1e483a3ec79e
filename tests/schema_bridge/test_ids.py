"""Sequence-table ids, allocated like CloudStack's SequenceFetcher, never twice."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert, select

from schema_bridge.db import Database
from schema_bridge.ids import (
    SEQUENCE_OF_TABLE,
    VM_INSTANCE_SEQ,
    UnknownSequenceError,
    allocate,
    new_uuid,
    next_id,
)
from schema_bridge.tables import sequence


async def _with_sequence(db: Database, name: str = VM_INSTANCE_SEQ, value: int = 1) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(insert(sequence).values(name=name, value=value))


async def _value(db: Database, name: str = VM_INSTANCE_SEQ) -> int:
    async with db.engine.connect() as connection:
        query = select(sequence.c.value).where(sequence.c.name == name)
        return int((await connection.execute(query)).scalar_one())


async def test_next_id_returns_the_value_then_increments(legacy_db: Database) -> None:
    await _with_sequence(legacy_db, value=7)
    assert await next_id(legacy_db, VM_INSTANCE_SEQ) == 7
    assert await next_id(legacy_db, VM_INSTANCE_SEQ) == 8
    assert await _value(legacy_db) == 9


async def test_a_block_of_ids(legacy_db: Database) -> None:
    await _with_sequence(legacy_db, value=200)
    assert await next_id(legacy_db, VM_INSTANCE_SEQ, count=10) == 200
    assert await _value(legacy_db) == 210


async def test_unknown_sequence(legacy_db: Database) -> None:
    with pytest.raises(UnknownSequenceError, match="no_such_seq"):
        await next_id(legacy_db, "no_such_seq")


async def test_allocate_rejects_empty_blocks(legacy_db: Database) -> None:
    async with legacy_db.engine.begin() as connection:
        with pytest.raises(ValueError, match="at least 1"):
            await allocate(connection, VM_INSTANCE_SEQ, 0)


async def test_rolled_back_allocation_gives_the_value_back(legacy_db: Database) -> None:
    await _with_sequence(legacy_db, value=3)
    async with legacy_db.engine.connect() as connection:
        transaction = await connection.begin()
        assert await allocate(connection, VM_INSTANCE_SEQ) == 3
        await transaction.rollback()
    assert await next_id(legacy_db, VM_INSTANCE_SEQ) == 3


async def test_concurrent_allocation_never_repeats_an_id(legacy_db: Database) -> None:
    await _with_sequence(legacy_db, value=1)
    allocations = 60
    ids = await asyncio.gather(*(next_id(legacy_db, VM_INSTANCE_SEQ) for _ in range(allocations)))
    assert sorted(ids) == list(range(1, allocations + 1))
    assert await _value(legacy_db) == allocations + 1


async def test_seeded_sequences_cover_every_sequence_table(
    seeded_db: tuple[Database, object],
) -> None:
    db, _ = seeded_db
    async with db.engine.connect() as connection:
        names = set((await connection.scalars(select(sequence.c.name))).all())
    assert set(SEQUENCE_OF_TABLE.values()) <= names


def test_new_uuid_is_random_version_4() -> None:
    values = {new_uuid() for _ in range(100)}
    assert len(values) == 100
    assert all(uuid.UUID(value).version == 4 for value in values)
