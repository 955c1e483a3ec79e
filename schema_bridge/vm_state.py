"""VM state changes as CloudStack makes them: compare-and-set on state and update_count.

`UPDATE vm_instance SET state=new, update_count=update_count+1 ... WHERE id=? AND state=old
AND update_count=old`: zero rows means someone else — another stackshift process or the
legacy management server — changed the VM first, and this change must not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import utc_now
from schema_bridge.tables import host, service_offering, user_vm_details, vm_instance

POWER = {"Running": "PowerOn", "Stopped": "PowerOff"}


@dataclass(frozen=True)
class VmPlacement:
    id: int
    uuid: str
    instance_name: str
    state: str
    update_count: int
    host_id: int | None
    last_host_id: int | None
    zone_id: int
    account_id: int
    domain_id: int
    service_offering_id: int
    hypervisor_type: str | None
    cpus: int
    speed: int
    ram_mb: int


async def placement(conn: AsyncConnection, vm_id: int) -> VmPlacement | None:
    query = (
        select(
            vm_instance.c.id,
            vm_instance.c.uuid,
            vm_instance.c.instance_name,
            vm_instance.c.state,
            vm_instance.c.update_count,
            vm_instance.c.host_id,
            vm_instance.c.last_host_id,
            vm_instance.c.data_center_id,
            vm_instance.c.account_id,
            vm_instance.c.domain_id,
            vm_instance.c.service_offering_id,
            vm_instance.c.hypervisor_type,
            service_offering.c.cpu,
            service_offering.c.speed,
            service_offering.c.ram_size,
        )
        .join(service_offering, service_offering.c.id == vm_instance.c.service_offering_id)
        .where(vm_instance.c.id == vm_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    values = list(row)
    if None in values[12:15]:
        values[12:15] = await _custom_sizes(conn, vm_id, values[12:15])
    values[12:15] = [int(v or 0) for v in values[12:15]]
    return VmPlacement(*values)


async def _custom_sizes(conn: AsyncConnection, vm_id: int, offered: list[Any]) -> list[Any]:
    """A custom offering leaves sizes open; the VM's cpuNumber/cpuSpeed/memory details hold
    them (as CloudStack stores a dynamic offering's choice)."""
    names = ("cpuNumber", "cpuSpeed", "memory")
    query = select(user_vm_details.c.name, user_vm_details.c.value).where(
        user_vm_details.c.vm_id == vm_id, user_vm_details.c.name.in_(names)
    )
    chosen = {str(n): str(v) for n, v in (await conn.execute(query)).all()}
    return [
        value if value is not None else (chosen.get(name) or 0)
        for name, value in zip(names, offered, strict=True)
    ]


class VmStates:
    """ResourceStates for user VMs."""

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None:
        query = select(vm_instance.c.state).where(vm_instance.c.id == resource_id)
        value = (await conn.execute(query)).scalar()
        return None if value is None else str(value)

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        current = await placement(conn, resource_id)
        if current is None or current.state not in from_states:
            return False
        return await cas(conn, current, to_state)


async def cas(conn: AsyncConnection, seen: VmPlacement, to_state: str, **values: Any) -> bool:
    """Move `seen` to `to_state` only if nobody changed it since it was read."""
    if to_state in POWER:
        values.setdefault("power_state", POWER[to_state])
        values.setdefault("power_state_update_time", utc_now())
    changed = await conn.execute(
        update(vm_instance)
        .where(
            vm_instance.c.id == seen.id,
            vm_instance.c.state == seen.state,
            vm_instance.c.update_count == seen.update_count,
            vm_instance.c.removed.is_(None),
        )
        .values(
            state=to_state,
            update_count=vm_instance.c.update_count + 1,
            update_time=utc_now(),
            **values,
        )
    )
    return changed.rowcount == 1


async def set_host(conn: AsyncConnection, seen: VmPlacement, host_id: int | None) -> bool:
    """Where the VM runs now (None when stopped; the last host is remembered for restarts),
    compare-and-set like a state change: only if nobody changed the VM since `seen` was
    read, and update_count moves, so a writer holding an older copy (the legacy server
    during a cutover) fails its own compare-and-set instead of overwriting this."""
    values: dict[str, Any] = {
        "host_id": host_id,
        "update_time": utc_now(),
        "update_count": vm_instance.c.update_count + 1,
    }
    if host_id is not None:
        pod = (await conn.execute(select(host.c.pod_id).where(host.c.id == host_id))).scalar()
        values.update(last_host_id=host_id, pod_id=pod, power_host=host_id)
    changed = await conn.execute(
        update(vm_instance)
        .where(
            vm_instance.c.id == seen.id,
            vm_instance.c.state == seen.state,
            vm_instance.c.update_count == seen.update_count,
        )
        .values(**values)
    )
    return changed.rowcount == 1


def changed_meanwhile(seen: VmPlacement) -> str:
    """The error text when a compare-and-set on `seen` found someone else's change."""
    return (
        f"virtual machine {seen.uuid} was changed by another management server meanwhile "
        f"(it was {seen.state}, update {seen.update_count}); nothing was changed"
    )
