"""Volume rows as CloudStack's volume service writes them: allocation, placement on primary
storage, attachment to a VM, size changes and expunging.

Every state change is a compare-and-set on `state` and `update_count` (CloudStack's
optimistic lock on `volumes`); placement and attachment are conditional updates that
succeed once, so steps that run again after a crash change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import capacity
from schema_bridge.dialect import utc_now
from schema_bridge.ids import VOLUME_SEQ, allocate, new_uuid
from schema_bridge.tables import (
    cluster,
    data_center,
    disk_offering,
    hypervisor_capabilities,
    storage_pool,
    vm_instance,
    volumes,
)

STORAGE_ALLOCATED: Final = 3
# CloudStack keeps device id 3 for the CD-ROM; data disks take 1, 2, 4, 5...
CDROM_DEVICE: Final = 3
DEFAULT_MAX_DATA_VOLUMES: Final = 6
READY, ALLOCATED = "Ready", "Allocated"


@dataclass(frozen=True)
class VolumeRow:
    id: int
    uuid: str
    name: str | None
    state: str
    update_count: int
    account_id: int
    domain_id: int
    instance_id: int | None
    device_id: int | None
    volume_type: str
    size: int
    pool_id: int | None
    data_center_id: int
    disk_offering_id: int
    template_id: int | None
    path: str | None
    format: str | None
    display_volume: bool
    removed: datetime | None


_COLUMNS = tuple(volumes.c[name] for name in VolumeRow.__dataclass_fields__)


def _row(found: Any) -> VolumeRow:
    values = dict(found._mapping)
    values["size"] = int(values["size"] or 0)
    values["update_count"] = int(values["update_count"] or 0)
    values["display_volume"] = bool(values["display_volume"])
    return VolumeRow(**values)


async def volume_by_id(conn: AsyncConnection, volume_id: int) -> VolumeRow | None:
    """The volume, removed or not (callers decide what a removed volume means)."""
    found = (await conn.execute(select(*_COLUMNS).where(volumes.c.id == volume_id))).first()
    return None if found is None else _row(found)


async def attached_to(conn: AsyncConnection, vm_id: int) -> list[VolumeRow]:
    query = (
        select(*_COLUMNS)
        .where(volumes.c.instance_id == vm_id, volumes.c.removed.is_(None))
        .order_by(volumes.c.device_id)
    )
    return [_row(found) for found in (await conn.execute(query)).all()]


async def cas(conn: AsyncConnection, seen: VolumeRow, to_state: str, **values: Any) -> bool:
    """Move `seen` to `to_state` only if nobody changed it since it was read."""
    changed = await conn.execute(
        update(volumes)
        .where(
            volumes.c.id == seen.id,
            volumes.c.state == seen.state,
            volumes.c.update_count == seen.update_count,
            volumes.c.removed.is_(None),
        )
        .values(
            state=to_state, update_count=volumes.c.update_count + 1, updated=utc_now(), **values
        )
    )
    return changed.rowcount == 1


class VolumeStates:
    """ResourceStates for volumes.

    CloudStack's Ready means "exists on primary storage", so a process's "Ready" reads as
    Allocated for a volume without a pool: one that ends a process never created (or with
    its creation undone) is recorded Allocated, and matches a "Ready" start state as such.
    """

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None:
        value = await conn.scalar(select(volumes.c.state).where(volumes.c.id == resource_id))
        return None if value is None else str(value)

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        current = await volume_by_id(conn, resource_id)
        if current is None or current.removed is not None:
            return False
        if current.state not in {_effective(s, current) for s in from_states}:
            return False
        return await cas(conn, current, _effective(to_state, current))


def _effective(state: str, volume: VolumeRow) -> str:
    return ALLOCATED if state == READY and volume.pool_id is None else state


@dataclass(frozen=True)
class NewVolume:
    """A DATADISK volume as allocVolume creates it: Allocated, on no storage yet."""

    name: str
    account_id: int
    domain_id: int
    zone_id: int
    disk_offering_id: int
    size: int
    provisioning_type: str
    min_iops: int | None = None
    max_iops: int | None = None
    display: bool = True
    uuid: str = ""


async def insert_data_volume(conn: AsyncConnection, new: NewVolume) -> VolumeRow:
    """Insert inside the caller's (short) transaction; the id comes from `volume_seq`."""
    volume_id = await allocate(conn, VOLUME_SEQ)
    now = utc_now()
    await conn.execute(
        insert(volumes).values(
            id=volume_id,
            uuid=new.uuid or new_uuid(),
            name=new.name,
            volume_type="DATADISK",
            account_id=new.account_id,
            domain_id=new.domain_id,
            data_center_id=new.zone_id,
            disk_offering_id=new.disk_offering_id,
            size=new.size,
            provisioning_type=new.provisioning_type,
            min_iops=new.min_iops,
            max_iops=new.max_iops,
            display_volume=new.display,
            state=ALLOCATED,
            update_count=0,
            created=now,
            updated=now,
        )
    )
    found = await volume_by_id(conn, volume_id)
    assert found is not None
    return found


@dataclass(frozen=True)
class Pool:
    id: int
    pod_id: int | None
    pool_type: str
    path: str | None
    hypervisor: str | None


async def zone_pool(conn: AsyncConnection, zone_id: int) -> Pool | None:
    """The zone's first Up primary storage pool (the pool every seeded VM's disks live on)."""
    query = (
        select(
            storage_pool.c.id,
            storage_pool.c.pod_id,
            storage_pool.c.pool_type,
            storage_pool.c.path,
            storage_pool.c.hypervisor,
        )
        .where(storage_pool.c.data_center_id == zone_id, storage_pool.c.removed.is_(None))
        .where(storage_pool.c.status == "Up")
        .order_by(storage_pool.c.id)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else Pool(int(row.id), row.pod_id, str(row.pool_type), *row[3:])


async def place(conn: AsyncConnection, volume: VolumeRow, pool: Pool, fmt: str) -> bool:
    """Record the volume as created on `pool` and count its size as allocated there.
    False when it already has a pool (nothing changes then)."""
    changed = await conn.execute(
        update(volumes)
        .where(volumes.c.id == volume.id, volumes.c.pool_id.is_(None))
        .values(
            pool_id=pool.id,
            pool_type=pool.pool_type,
            folder=pool.path,
            path=new_uuid(),
            pod_id=pool.pod_id,
            format=fmt,
            updated=utc_now(),
        )
    )
    if changed.rowcount != 1:
        return False
    await capacity.adjust(conn, pool.id, STORAGE_ALLOCATED, volume.size)
    return True


async def unplace(conn: AsyncConnection, volume: VolumeRow, pool_id: int) -> bool:
    """Undo of `place`: forget the storage copy and give the allocated size back."""
    changed = await conn.execute(
        update(volumes)
        .where(volumes.c.id == volume.id, volumes.c.pool_id == pool_id)
        .values(pool_id=None, pool_type=None, folder=None, path=None, pod_id=None, format=None)
    )
    if changed.rowcount != 1:
        return False
    await capacity.adjust(conn, pool_id, STORAGE_ALLOCATED, -volume.size)
    return True


async def lock_vm(conn: AsyncConnection, vm_id: int) -> None:
    """Serialise device allocation per VM: every attacher writes the VM row (not its state or
    update_count, which VM lifecycles compare-and-set), so a second attacher waits for the
    first to commit on MariaDB and conflicts with it at COMMIT on Galera."""
    await conn.execute(
        update(vm_instance).where(vm_instance.c.id == vm_id).values(update_time=utc_now())
    )


async def used_device_ids(conn: AsyncConnection, vm_id: int) -> set[int]:
    query = select(volumes.c.device_id).where(
        volumes.c.instance_id == vm_id, volumes.c.removed.is_(None)
    )
    return {int(d) for d in (await conn.execute(query)).scalars() if d is not None}


async def max_data_volumes(conn: AsyncConnection, hypervisor_type: str | None) -> int:
    """hypervisor_capabilities' data disk limit (the 'default' version row), 6 without one."""
    query = (
        select(hypervisor_capabilities.c.max_data_volumes_limit)
        .where(hypervisor_capabilities.c.hypervisor_type == (hypervisor_type or ""))
        .order_by(hypervisor_capabilities.c.hypervisor_version != "default")
    )
    found = await conn.scalar(query)
    return DEFAULT_MAX_DATA_VOLUMES if found is None else int(found)


def free_device_id(used: set[int], max_data_volumes: int) -> int | None:
    """CloudStack's allocation: the lowest free id of 1..max+1, skipping the CD-ROM's 3."""
    for candidate in range(1, max_data_volumes + 2):
        if candidate != CDROM_DEVICE and candidate not in used:
            return candidate
    return None


async def attach_row(conn: AsyncConnection, volume_id: int, vm_id: int, device_id: int) -> bool:
    changed = await conn.execute(
        update(volumes)
        .where(volumes.c.id == volume_id, volumes.c.instance_id.is_(None))
        .values(instance_id=vm_id, device_id=device_id, attached=utc_now(), updated=utc_now())
    )
    return changed.rowcount == 1


async def detach_row(conn: AsyncConnection, volume_id: int, vm_id: int) -> bool:
    changed = await conn.execute(
        update(volumes)
        .where(volumes.c.id == volume_id, volumes.c.instance_id == vm_id)
        .values(instance_id=None, device_id=None, attached=None, updated=utc_now())
    )
    return changed.rowcount == 1


async def set_size(conn: AsyncConnection, volume: VolumeRow, size: int, **values: Any) -> bool:
    """New size (and offering/IOPS when given); a placed volume's allocated capacity follows.
    A compare-and-set on state and update_count like a state change: False (and nothing
    changed) when someone else changed the volume since `volume` was read."""
    changed = await conn.execute(
        update(volumes)
        .where(
            volumes.c.id == volume.id,
            volumes.c.state == volume.state,
            volumes.c.update_count == volume.update_count,
        )
        .values(size=size, update_count=volumes.c.update_count + 1, updated=utc_now(), **values)
    )
    if changed.rowcount != 1:
        return False
    if volume.pool_id is not None:
        await capacity.adjust(conn, volume.pool_id, STORAGE_ALLOCATED, size - volume.size)
    return True


async def expunge(conn: AsyncConnection, seen: VolumeRow) -> bool:
    """Mark the volume Expunged and removed; its storage capacity is given back."""
    if not await cas(conn, seen, "Expunged", removed=utc_now(), instance_id=None):
        return False
    if seen.pool_id is not None:
        await capacity.adjust(conn, seen.pool_id, STORAGE_ALLOCATED, -seen.size)
    return True


@dataclass(frozen=True)
class DiskOffering:
    id: int
    uuid: str
    disk_size: int
    customized: bool
    usable: bool  # live, Active and not the private disk of a compute offering
    provisioning_type: str
    min_iops: int | None
    max_iops: int | None
    size_strict: bool


async def disk_offering_of(conn: AsyncConnection, offering_id: int) -> DiskOffering | None:
    row = (
        await conn.execute(select(disk_offering).where(disk_offering.c.id == offering_id))
    ).first()
    if row is None:
        return None
    usable = row.removed is None and not row.compute_only and (row.state or "Active") == "Active"
    return DiskOffering(
        id=int(row.id),
        uuid=str(row.uuid),
        disk_size=int(row.disk_size or 0),
        customized=bool(row.customized),
        usable=usable,
        provisioning_type=str(row.provisioning_type or "thin"),
        min_iops=row.min_iops,
        max_iops=row.max_iops,
        size_strict=bool(row.disk_size_strictness),
    )


async def zone_allocation_state(conn: AsyncConnection, zone_id: int) -> str | None:
    """The zone's allocation state (Enabled/Disabled); None when there is no such zone."""
    query = select(data_center.c.allocation_state).where(
        data_center.c.id == zone_id, data_center.c.removed.is_(None)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else str(row[0] or "Enabled")


async def is_user_vm(conn: AsyncConnection, vm_id: int) -> bool:
    query = select(vm_instance.c.id).where(
        vm_instance.c.id == vm_id, vm_instance.c.type == "User", vm_instance.c.removed.is_(None)
    )
    return (await conn.execute(query)).first() is not None


async def hypervisor_of(conn: AsyncConnection, volume: VolumeRow) -> str:
    """The hypervisor a volume belongs to: its VM's, else its pool's cluster's, else None."""
    if volume.instance_id is not None:
        query = select(vm_instance.c.hypervisor_type).where(vm_instance.c.id == volume.instance_id)
        found = await conn.scalar(query)
        if found:
            return str(found)
    if volume.pool_id is not None:
        query = (
            select(cluster.c.hypervisor_type)
            .select_from(storage_pool.join(cluster, cluster.c.id == storage_pool.c.cluster_id))
            .where(storage_pool.c.id == volume.pool_id)
        )
        found = await conn.scalar(query)
        if found:
            return str(found)
    return "None"
