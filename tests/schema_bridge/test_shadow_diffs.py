"""Shadow counters add up across flushes and instances; examples stay bounded (both backends)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from migrate import schema as own_schema
from schema_bridge import shadow_diffs
from schema_bridge.db import open_database
from schema_bridge.shadow_diffs import ExampleRow, FieldRow


def example(n: int, field: str = "vm[].state") -> ExampleRow:
    return ExampleRow(
        "listVirtualMachines",
        field,
        "candidate",
        f"r.vm[{n}].state",
        "Running",
        f"v{n}",
        "legacy",
        datetime(2026, 11, 25, 12, 0, n),
    )


async def test_counts_add_up_and_examples_are_pruned(db_url: str) -> None:
    await asyncio.to_thread(own_schema.upgrade, db_url)
    first, second = await open_database(db_url), await open_database(db_url)
    try:
        row = FieldRow("listVirtualMachines", "vm[].state", 2, 1, 1, 0)
        other = FieldRow("listZones", "zone[].name", 1, 0, 0, 0)
        await shadow_diffs.add(first, [row, other], [example(n) for n in range(3)], keep=4)
        # Two instances flushing at the same moment: both increments land.
        await asyncio.gather(
            shadow_diffs.add(first, [row], [example(3), example(4)], keep=4),
            shadow_diffs.add(second, [row], [example(5, "vm[].name")], keep=4),
        )
        stored = await shadow_diffs.fields(first, "listVirtualMachines")
        assert stored == [FieldRow("listVirtualMachines", "vm[].state", 6, 3, 3, 0)]
        assert len(await shadow_diffs.fields(first)) == 2
        kept = await shadow_diffs.examples(first, "listVirtualMachines")
        assert [e.path for e in kept if e.field == "vm[].state"] == [
            f"r.vm[{n}].state" for n in (4, 3, 2, 1)
        ]
        assert [e.other_value for e in kept if e.field == "vm[].name"] == ["v5"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_long_field_names_are_clipped(db_url: str) -> None:
    await asyncio.to_thread(own_schema.upgrade, db_url)
    db = await open_database(db_url)
    try:
        long = "a" * 400
        await shadow_diffs.add(db, [FieldRow("listZones", long, 1, 1, 0, 0)], [example(1, long)], 2)
        await shadow_diffs.add(db, [FieldRow("listZones", long, 1, 0, 0, 0)], [], 2)
        (row,) = await shadow_diffs.fields(db, "listZones")
        assert (len(row.field), row.samples, row.diffs) == (255, 2, 1)
    finally:
        await db.dispose()
