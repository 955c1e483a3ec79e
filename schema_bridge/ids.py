"""Ids and uuids allocated exactly as CloudStack allocates them.

Several tables take their ids from the `sequence` table rather than AUTO_INCREMENT
(CloudStack's SequenceFetcher): `SELECT value ... FOR UPDATE`, then `value = value + n`,
in a short transaction of its own, and the row is inserted with that explicit id.
Writers must do the same, or the legacy server later hands out colliding ids.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.db import Database
from schema_bridge.dialect import for_update
from schema_bridge.tables import sequence

VM_INSTANCE_SEQ: Final = "vm_instance_seq"
VOLUME_SEQ: Final = "volume_seq"
VM_TEMPLATE_SEQ: Final = "vm_template_seq"
NETWORKS_SEQ: Final = "networks_seq"
STORAGE_POOL_SEQ: Final = "storage_pool_seq"
PHYSICAL_NETWORKS_SEQ: Final = "physical_networks_seq"
PRIVATE_MAC_ADDRESS_SEQ: Final = "private_mac_address_seq"
PUBLIC_MAC_ADDRESS_SEQ: Final = "public_mac_address_seq"
CHECKPOINT_SEQ: Final = "checkpoint_seq"

# Which table's ids come from which sequence row.
SEQUENCE_OF_TABLE: Final[dict[str, str]] = {
    "vm_instance": VM_INSTANCE_SEQ,
    "volumes": VOLUME_SEQ,
    "vm_template": VM_TEMPLATE_SEQ,
    "networks": NETWORKS_SEQ,
    "storage_pool": STORAGE_POOL_SEQ,
    "physical_network": PHYSICAL_NETWORKS_SEQ,
}


class UnknownSequenceError(LookupError):
    """The `sequence` table has no row of that name."""


async def allocate(connection: AsyncConnection, name: str, count: int = 1) -> int:
    """Reserve `count` consecutive values of sequence `name` inside the caller's transaction.

    Returns the first value. The sequence row stays locked until the caller commits, so
    prefer `next_id`, which commits at once, unless the caller's transaction is short.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    locked = for_update(select(sequence.c.value).where(sequence.c.name == name))
    value = await connection.scalar(locked)
    if value is None:
        raise UnknownSequenceError(f"no sequence named {name!r}")
    await connection.execute(
        update(sequence).where(sequence.c.name == name).values(value=sequence.c.value + count)
    )
    return int(value)


async def next_id(db: Database, name: str, count: int = 1) -> int:
    """Allocate from sequence `name` in a transaction of its own, as CloudStack does."""
    async with db.engine.begin() as connection:
        return await allocate(connection, name, count)


def new_uuid() -> str:
    """A random (version 4) uuid, as Java-created CloudStack rows carry."""
    return str(uuid.uuid4())
