"""Volumes of a deploying VM: a primary storage pool with room, the rows, and their removal.

Room on a pool is its STORAGE_ALLOCATED capacity row (whose total already includes the
storage over-provisioning factor); taking it is one conditional UPDATE, so concurrent
deploys cannot overfill a pool, and a pool that does not fit changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.tables import op_host_capacity, storage_pool, volumes

STORAGE_ALLOCATED = 3


@dataclass(frozen=True)
class Pool:
    id: int
    pod_id: int | None
    pool_type: str
    path: str


@dataclass(frozen=True)
class NewVolume:
    id: int
    name: str
    volume_type: str  # ROOT or DATADISK
    device_id: int
    size: int
    disk_offering_id: int
    template_id: int | None
    format: str | None
    provisioning_type: str | None


@dataclass(frozen=True)
class VolumeOwner:
    vm_id: int
    account_id: int
    domain_id: int
    zone_id: int


async def pools_by_room(conn: AsyncConnection, zone_id: int) -> list[Pool]:
    """The zone's Up pools, most unallocated room first."""
    cap = op_host_capacity.c
    free = cap.total_capacity - cap.used_capacity - cap.reserved_capacity
    query = (
        select(
            storage_pool.c.id, storage_pool.c.pod_id, storage_pool.c.pool_type, storage_pool.c.path
        )
        .join(
            op_host_capacity,
            and_(cap.host_id == storage_pool.c.id, cap.capacity_type == STORAGE_ALLOCATED),
        )
        .where(
            storage_pool.c.data_center_id == zone_id,
            storage_pool.c.status == "Up",
            storage_pool.c.removed.is_(None),
        )
        .order_by(free.desc(), storage_pool.c.id)
    )
    return [
        Pool(int(r.id), r.pod_id, str(r.pool_type), str(r.path))
        for r in (await conn.execute(query)).all()
    ]


async def take_room(conn: AsyncConnection, pool_id: int, size: int) -> bool:
    cap = op_host_capacity.c
    changed = await conn.execute(
        update(op_host_capacity)
        .where(
            cap.host_id == pool_id,
            cap.capacity_type == STORAGE_ALLOCATED,
            cap.used_capacity + cap.reserved_capacity + size <= cap.total_capacity,
        )
        .values(used_capacity=cap.used_capacity + size, update_time=utc_now())
    )
    return changed.rowcount == 1


async def give_room(conn: AsyncConnection, pool_id: int, size: int) -> None:
    cap = op_host_capacity.c
    await conn.execute(
        update(op_host_capacity)
        .where(cap.host_id == pool_id, cap.capacity_type == STORAGE_ALLOCATED)
        .values(used_capacity=cap.used_capacity - size, update_time=utc_now())
    )


async def insert_volumes(
    conn: AsyncConnection, owner: VolumeOwner, pool: Pool, new: list[NewVolume], now: datetime
) -> None:
    """Ready volumes on `pool`, attached to the VM (ROOT at device 0)."""
    rows = [
        {
            "id": v.id, "uuid": new_uuid(), "name": v.name, "volume_type": v.volume_type,
            "account_id": owner.account_id, "domain_id": owner.domain_id,
            "instance_id": owner.vm_id, "device_id": v.device_id, "size": v.size,
            "pool_id": pool.id, "pool_type": pool.pool_type, "folder": pool.path,
            "path": new_uuid(), "pod_id": pool.pod_id, "data_center_id": owner.zone_id,
            "disk_offering_id": v.disk_offering_id, "template_id": v.template_id,
            "format": v.format, "provisioning_type": v.provisioning_type, "state": "Ready",
            "update_count": 2, "created": now, "attached": now, "updated": now,
        }
        for v in new
    ]  # fmt: skip
    await conn.execute(insert(volumes), rows)


async def remove_volumes(conn: AsyncConnection, vm_id: int, now: datetime) -> int:
    """Expunge the VM's live volumes and give their pool room back; returns how many."""
    query = select(
        volumes.c.id, volumes.c.pool_id, volumes.c.size, volumes.c.state, volumes.c.update_count
    ).where(volumes.c.instance_id == vm_id, volumes.c.removed.is_(None))
    found = (await conn.execute(query)).all()
    return sum([await expunge_unchanged(conn, volume, now) for volume in found])


async def expunge_unchanged(conn: AsyncConnection, seen: Any, now: datetime) -> bool:
    """Expunge the volume read as `seen` (id, pool_id, size, state, update_count) and give
    its room back, as a compare-and-set on state and update_count: a volume someone else
    changed meanwhile (the legacy server, during a cutover) is left to them."""
    same_count = (
        volumes.c.update_count.is_(None)
        if seen.update_count is None
        else volumes.c.update_count == seen.update_count
    )
    changed = await conn.execute(
        update(volumes)
        .where(volumes.c.id == seen.id, volumes.c.state == seen.state, same_count)
        .where(volumes.c.removed.is_(None))
        .values(
            state="Expunged",
            removed=now,
            updated=now,
            update_count=func.coalesce(volumes.c.update_count, 0) + 1,
        )
    )
    if changed.rowcount != 1:
        return False
    if seen.pool_id is not None:
        await give_room(conn, int(seen.pool_id), int(seen.size or 0))
    return True
