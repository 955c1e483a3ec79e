"""What a user VM costs its owner, as CloudStack accounts for it.

Resource counts (`resource_count`, the account's row and every domain row up to ROOT, moved
by schema_bridge.resource_counts under their limits) and
usage events (`usage_event` + `usage_event_details`, which the usage server bills from) move
together with the VM's state. Custom offerings store no size: the VM's own cpuNumber /
cpuSpeed / memory details hold it, and usage events carry those as details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import resource_counts
from schema_bridge.dialect import utc_now
from schema_bridge.tables import (
    service_offering,
    usage_event,
    usage_event_details,
    user_vm_details,
    vm_instance,
    volumes,
)

# UsageEventVO.DynamicParameters: the details a custom offering's size lives in.
CPU_NUMBER: Final = "cpuNumber"
CPU_SPEED: Final = "cpuSpeed"
MEMORY: Final = "memory"
CUSTOM_DETAILS: Final = (CPU_NUMBER, CPU_SPEED, MEMORY)
VM_CLASS: Final = "com.cloud.vm.VirtualMachine"


@dataclass(frozen=True)
class Compute:
    """A VM's size: from its offering, or from its details for custom offerings."""

    offering_id: int
    cpus: int
    speed: int
    ram_mb: int
    custom: bool  # the offering leaves cpu, speed or memory open (ServiceOffering.isDynamic)

    def details(self) -> dict[str, str]:
        return {CPU_NUMBER: str(self.cpus), CPU_SPEED: str(self.speed), MEMORY: str(self.ram_mb)}


@dataclass(frozen=True)
class Offering:
    id: int
    uuid: str
    name: str
    cpu: int | None
    speed: int | None
    ram_mb: int | None
    state: str
    ha_enabled: bool
    limit_cpu_use: bool
    dynamic_scaling: bool
    system_use: bool
    disk_offering_id: int | None
    strict_disk: bool

    @property
    def custom(self) -> bool:
        return self.cpu is None or self.speed is None or self.ram_mb is None

    def sized(self, details: Mapping[str, str]) -> Compute:
        """This offering's size, open values taken from `details` (0 when absent)."""

        def pick(fixed: int | None, name: str) -> int:
            if fixed is not None:
                return fixed
            value = details.get(name, "")
            return int(value) if value.strip().isdigit() else 0

        return Compute(
            self.id,
            pick(self.cpu, CPU_NUMBER),
            pick(self.speed, CPU_SPEED),
            pick(self.ram_mb, MEMORY),
            self.custom,
        )


async def offering(conn: AsyncConnection, offering_id: int) -> Offering | None:
    so = service_offering.c
    query = select(
        so.id,
        so.uuid,
        so.name,
        so.cpu,
        so.speed,
        so.ram_size,
        so.state,
        so.ha_enabled,
        so.limit_cpu_use,
        so.dynamic_scaling_enabled,
        so.system_use,
        so.disk_offering_id,
        so.disk_offering_strictness,
    ).where(so.id == offering_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return Offering(
        id=int(row.id),
        uuid=str(row.uuid),
        name=str(row.name),
        cpu=_maybe_int(row.cpu),
        speed=_maybe_int(row.speed),
        ram_mb=_maybe_int(row.ram_size),
        state=str(row.state),
        ha_enabled=bool(row.ha_enabled),
        limit_cpu_use=bool(row.limit_cpu_use),
        dynamic_scaling=bool(row.dynamic_scaling_enabled),
        system_use=bool(row.system_use),
        disk_offering_id=_maybe_int(row.disk_offering_id),
        strict_disk=bool(row.disk_offering_strictness),
    )


def _maybe_int(value: Any) -> int | None:
    return None if value is None else int(value)


async def vm_details(conn: AsyncConnection, vm_id: int) -> dict[str, str]:
    query = select(user_vm_details.c.name, user_vm_details.c.value).where(
        user_vm_details.c.vm_id == vm_id
    )
    return {str(n): str(v) for n, v in (await conn.execute(query)).all()}


async def compute_of(conn: AsyncConnection, vm_id: int, offering_id: int) -> Compute:
    found = await offering(conn, offering_id)
    if found is None:
        raise LookupError(f"service offering id {offering_id} of VM id {vm_id} does not exist")
    return found.sized(await vm_details(conn, vm_id) if found.custom else {})


async def set_custom_details(conn: AsyncConnection, vm_id: int, size: Compute | None) -> None:
    """Store a custom offering's size on the VM, or drop it (`None`) for a fixed offering."""
    await conn.execute(
        delete(user_vm_details).where(
            user_vm_details.c.vm_id == vm_id, user_vm_details.c.name.in_(CUSTOM_DETAILS)
        )
    )
    if size is not None:
        rows = [
            {"vm_id": vm_id, "name": k, "value": v, "display": True}
            for k, v in size.details().items()
        ]
        await conn.execute(insert(user_vm_details), rows)


async def count(conn: AsyncConnection, account_id: int, deltas: Mapping[str, int]) -> None:
    """Move the owner's counts and its domains': increases only within their limits, as
    ResourceLimitService checks them (resource_counts.LimitExceededError otherwise, and the
    caller rolls back), decreases always."""
    for kind, amount in deltas.items():
        if amount > 0:
            await resource_counts.take(conn, account_id, kind, amount)
        elif amount < 0:
            await resource_counts.give_back(conn, account_id, kind, -amount)


def vm_deltas(size: Compute, sign: int) -> dict[str, int]:
    """The user_vm, cpu and memory counts one VM of `size` holds (`sign` -1 to give back)."""
    return {"user_vm": sign, "cpu": sign * size.cpus, "memory": sign * size.ram_mb}


@dataclass(frozen=True)
class UsageEvent:
    type: str
    account_id: int
    zone_id: int
    resource_id: int
    resource_name: str | None
    offering_id: int | None = None
    template_id: int | None = None
    size: int | None = None
    resource_type: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


async def record_usage(conn: AsyncConnection, event: UsageEvent) -> None:
    values: dict[str, Any] = {
        "type": event.type,
        "account_id": event.account_id,
        "created": utc_now(),
        "zone_id": event.zone_id,
        "resource_id": event.resource_id,
        "resource_name": event.resource_name,
        "offering_id": event.offering_id,
        "template_id": event.template_id,
        "size": event.size,
        "resource_type": event.resource_type,
        "processed": 0,
    }
    result = await conn.execute(insert(usage_event).values(**values))
    if event.details:
        key = result.inserted_primary_key
        assert key is not None
        rows = [
            {"usage_event_id": int(key[0]), "name": n, "value": v} for n, v in event.details.items()
        ]
        await conn.execute(insert(usage_event_details), rows)


async def vm_usage(conn: AsyncConnection, vm_id: int, kind: str, size: Compute) -> None:
    """A VM usage event (VM.CREATE, VM.STOP, VM.DESTROY, VM.UPGRADE...) as UserVmManager
    publishes it; VMs hidden from their owner (display_vm=0) are not billed."""
    vm = vm_instance.c
    query = select(
        vm.account_id, vm.data_center_id, vm.name, vm.vm_template_id, vm.hypervisor_type,
        vm.display_vm,
    ).where(vm.id == vm_id)  # fmt: skip
    row = (await conn.execute(query)).one()
    if not row.display_vm:
        return
    event = UsageEvent(
        type=kind,
        account_id=int(row.account_id),
        zone_id=int(row.data_center_id),
        resource_id=vm_id,
        resource_name=row.name,
        offering_id=size.offering_id,
        template_id=row.vm_template_id,
        resource_type=row.hypervisor_type,
        details=size.details() if size.custom else {},
    )
    await record_usage(conn, event)


async def volume_usage(conn: AsyncConnection, volume: Any, kind: str) -> None:
    """VOLUME.DELETE / VOLUME.CREATE for a `volumes` row (displayed volumes only)."""
    if not volume.display_volume:
        return
    create = kind == "VOLUME.CREATE"
    event = UsageEvent(
        type=kind,
        account_id=int(volume.account_id),
        zone_id=int(volume.data_center_id),
        resource_id=int(volume.id),
        resource_name=volume.name,
        offering_id=volume.disk_offering_id if create else None,
        template_id=volume.template_id if create else None,
        size=int(volume.size or 0) if create else None,
    )
    await record_usage(conn, event)


async def volume_rows(conn: AsyncConnection, *clauses: Any) -> list[Any]:
    """Live `volumes` rows matching `clauses` (removed ones are gone for good)."""
    query = select(volumes).where(volumes.c.removed.is_(None), *clauses).order_by(volumes.c.id)
    return list((await conn.execute(query)).all())
