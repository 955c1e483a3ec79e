"""Row changes of destroying, expunging, recovering and re-sizing a user VM.

Each function runs inside the caller's transaction and changes the VM with a compare-and-set
on state + update_count, so its bookkeeping (resource counts, usage events, NICs, addresses,
volumes, storage capacity) commits together with the state change or not at all:

- destroy: Stopping -> Destroyed; user_vm/cpu/memory counts given back, VM.DESTROY usage
  (VM.STOP first when it was running), VOLUME.DELETE usage for the ROOT volume, data volumes
  detached, the ones named for deletion destroyed.
- expunge: Destroyed/Expunging/Error -> Expunging with `removed` set; NIC addresses Free again
  (their MACs derive from the address row, so they are free too), NICs removed, volumes
  Expunged with their storage and volume counts released, tags and group membership dropped.
- recover: Destroyed -> Stopped with everything destroy gave back taken again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import guest_nics, vm_state
from schema_bridge import vm_accounting as acct
from schema_bridge.dialect import utc_now
from schema_bridge.tables import (
    instance_group_vm_map,
    op_host_capacity,
    resource_tags,
    vm_instance,
    volumes,
)

STORAGE_ALLOCATED: Final = 3  # op_host_capacity.capacity_type of a pool's allocated bytes
EXPUNGEABLE: Final = ("Destroyed", "Expunging", "Error")
GIVEN_BACK: Final = "Destroy"  # a volume in this state no longer counts against its owner


class VmChangedError(RuntimeError):
    """The VM is not in the state the change starts from: someone else moved it first."""


@dataclass(frozen=True)
class VmFacts:
    """A VM row as the API's checks read it (removed rows included)."""

    id: int
    uuid: str
    name: str
    instance_name: str
    state: str
    removed: bool
    account_id: int
    domain_id: int
    zone_id: int
    template_id: int | None
    service_offering_id: int
    hypervisor_type: str | None
    host_id: int | None
    delete_protection: bool
    dynamically_scalable: bool
    ha_enabled: bool
    display_vm: bool


async def facts(conn: AsyncConnection, vm_id: int) -> VmFacts | None:
    vm = vm_instance.c
    query = select(
        vm.id, vm.uuid, vm.name, vm.instance_name, vm.state, vm.removed, vm.account_id,
        vm.domain_id, vm.data_center_id, vm.vm_template_id, vm.service_offering_id,
        vm.hypervisor_type, vm.host_id, vm.delete_protection, vm.dynamically_scalable,
        vm.ha_enabled, vm.display_vm,
    ).where(vm.id == vm_id, vm.type == "User")  # fmt: skip
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return VmFacts(
        int(row.id), str(row.uuid), str(row.name), str(row.instance_name), str(row.state),
        row.removed is not None, int(row.account_id), int(row.domain_id),
        int(row.data_center_id), row.vm_template_id, int(row.service_offering_id),
        row.hypervisor_type, row.host_id, bool(row.delete_protection),
        bool(row.dynamically_scalable), bool(row.ha_enabled), bool(row.display_vm),
    )  # fmt: skip


async def _moved(
    conn: AsyncConnection, vm_id: int, wanted: Iterable[str], to: str, **values: Any
) -> vm_state.VmPlacement:
    seen = await vm_state.placement(conn, vm_id)
    allowed = tuple(wanted)
    if seen is None or seen.state not in allowed:
        state = None if seen is None else seen.state
        raise VmChangedError(f"VM id {vm_id} is {state}, not {' or '.join(allowed)}")
    if not await vm_state.cas(conn, seen, to, **values):
        raise VmChangedError(f"VM {seen.uuid} changed while it was being moved to {to}")
    return seen


async def _volume_cas(conn: AsyncConnection, row: Any, **values: Any) -> None:
    changed = await conn.execute(
        update(volumes)
        .where(
            volumes.c.id == row.id,
            volumes.c.state == row.state,
            volumes.c.update_count == row.update_count,
        )
        .values(update_count=volumes.c.update_count + 1, updated=utc_now(), **values)
    )
    if changed.rowcount != 1:
        raise VmChangedError(f"volume {row.uuid} changed while its VM was being torn down")


async def _give_back_volume(conn: AsyncConnection, row: Any) -> None:
    """Volume and primary storage counts of a volume that stops counting."""
    if row.display_volume and row.state != GIVEN_BACK:
        deltas = {"volume": -1, "primary_storage": -int(row.size or 0)}
        await acct.count(conn, int(row.account_id), deltas)


async def mark_destroyed(
    conn: AsyncConnection, vm_id: int, *, was_running: bool, delete_volumes: Iterable[int]
) -> None:
    """Stopping -> Destroyed and what CloudStack's destroy gives back with it."""
    seen = await _moved(
        conn, vm_id, ("Stopping",), "Destroyed", power_state="PowerOff",
        power_state_update_time=utc_now(),
    )  # fmt: skip
    size = await acct.compute_of(conn, vm_id, seen.service_offering_id)
    found = await facts(conn, vm_id)
    if found is not None and found.display_vm:
        await acct.count(conn, seen.account_id, acct.vm_deltas(size, -1))
    if was_running:
        await acct.vm_usage(conn, vm_id, "VM.STOP", size)
    await acct.vm_usage(conn, vm_id, "VM.DESTROY", size)
    for root in await acct.volume_rows(conn, volumes.c.instance_id == vm_id):
        if root.volume_type == "ROOT":
            await acct.volume_usage(conn, root, "VOLUME.DELETE")
    doomed = set(delete_volumes)
    for data in await acct.volume_rows(
        conn, volumes.c.instance_id == vm_id, volumes.c.volume_type == "DATADISK"
    ):
        detached = {"instance_id": None, "device_id": None}
        if data.id in doomed:
            await _give_back_volume(conn, data)
            await acct.volume_usage(conn, data, "VOLUME.DELETE")
            await _volume_cas(conn, data, state=GIVEN_BACK, **detached)
        else:
            await _volume_cas(conn, data, **detached)


async def _expunge_volumes(
    conn: AsyncConnection, vm_id: int, extra: Iterable[int], now: Any
) -> None:
    wanted = [int(v) for v in extra]
    owned = volumes.c.instance_id == vm_id
    rows = await acct.volume_rows(conn, owned | volumes.c.id.in_(wanted) if wanted else owned)
    released: Counter[int] = Counter()
    for row in rows:
        await _give_back_volume(conn, row)
        if row.volume_type != "ROOT" and row.state != GIVEN_BACK:
            await acct.volume_usage(conn, row, "VOLUME.DELETE")
        await _volume_cas(conn, row, state="Expunged", removed=now)
        if row.pool_id is not None:
            released[int(row.pool_id)] += int(row.size or 0)
    for pool_id, size in released.items():
        await conn.execute(
            update(op_host_capacity)
            .where(
                op_host_capacity.c.host_id == pool_id,
                op_host_capacity.c.capacity_type == STORAGE_ALLOCATED,
            )
            .values(used_capacity=op_host_capacity.c.used_capacity - size, update_time=now)
        )


async def mark_expunged(conn: AsyncConnection, vm_id: int, extra_volumes: Iterable[int]) -> None:
    """-> Expunging with `removed` set, after releasing NICs, addresses and volumes."""
    now = utc_now()
    await guest_nics.release_nics(conn, vm_id, now)
    await _expunge_volumes(conn, vm_id, extra_volumes, now)
    await conn.execute(
        delete(resource_tags).where(
            resource_tags.c.resource_id == vm_id, resource_tags.c.resource_type == "UserVm"
        )
    )
    await conn.execute(
        delete(instance_group_vm_map).where(instance_group_vm_map.c.instance_id == vm_id)
    )
    await _moved(conn, vm_id, EXPUNGEABLE, "Expunging", removed=now)


async def recover(conn: AsyncConnection, vm_id: int) -> acct.Compute:
    """Destroyed -> Stopped; counts taken again (within the owner's limits, else
    resource_counts.LimitExceededError), VM.CREATE usage, the ROOT volume back."""
    seen = await _moved(conn, vm_id, ("Destroyed",), "Stopped")
    size = await acct.compute_of(conn, vm_id, seen.service_offering_id)
    found = await facts(conn, vm_id)
    if found is not None and found.display_vm:
        await acct.count(conn, seen.account_id, acct.vm_deltas(size, 1))
    for root in await acct.volume_rows(
        conn, volumes.c.instance_id == vm_id, volumes.c.volume_type == "ROOT"
    ):
        if root.state == GIVEN_BACK:
            await _volume_cas(conn, root, state="Ready")
            if root.display_volume:
                deltas = {"volume": 1, "primary_storage": int(root.size or 0)}
                await acct.count(conn, int(root.account_id), deltas)
        await acct.volume_usage(conn, root, "VOLUME.CREATE")
    await acct.vm_usage(conn, vm_id, "VM.CREATE", size)
    return size


async def change_offering(
    conn: AsyncConnection,
    seen: vm_state.VmPlacement,
    new: acct.Offering,
    size: acct.Compute,
    usage: str,
) -> None:
    """Put the VM on offering `new` (sized `size`) and move its cpu/memory counts by the
    difference (a growth within the owner's limits, else resource_counts.LimitExceededError);
    only while the VM is still as `seen` (state and update_count)."""
    old = await acct.compute_of(conn, seen.id, seen.service_offering_id)
    changed = await conn.execute(
        update(vm_instance)
        .where(
            vm_instance.c.id == seen.id,
            vm_instance.c.state == seen.state,
            vm_instance.c.update_count == seen.update_count,
            vm_instance.c.removed.is_(None),
        )
        .values(
            service_offering_id=new.id,
            ha_enabled=new.ha_enabled,
            limit_cpu_use=new.limit_cpu_use,
            update_count=vm_instance.c.update_count + 1,
            update_time=utc_now(),
        )
    )
    if changed.rowcount != 1:
        raise VmChangedError(f"VM {seen.uuid} changed while its offering was being changed")
    await acct.set_custom_details(conn, seen.id, size if new.custom else None)
    found = await facts(conn, seen.id)
    if found is not None and found.display_vm:
        deltas = {"cpu": size.cpus - old.cpus, "memory": size.ram_mb - old.ram_mb}
        await acct.count(conn, seen.account_id, deltas)
    await acct.vm_usage(conn, seen.id, usage, size)
