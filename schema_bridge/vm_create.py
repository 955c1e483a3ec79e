"""The rows deployVirtualMachine writes before its job runs, and the bookkeeping around them.

CloudStack's create phase leaves a user VM as `vm_instance` + `user_vm` (+ `user_vm_details`,
instance group) in state Stopped, with the owner's resource counts already raised. The limit
check locks the owner's `resource_count` rows first (as ResourceLimitManagerImpl does), so
two deploys of one account cannot both pass the last free slot.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import encryption
from schema_bridge.dialect import for_update
from schema_bridge.ids import new_uuid
from schema_bridge.tables import (
    instance_group,
    instance_group_vm_map,
    resource_count,
    table,
    usage_event,
    usage_event_details,
    user_vm,
    user_vm_details,
    vm_instance,
)

resource_reservation = table("resource_reservation")
# The resource types a user VM counts against (ResourceLimitService's VM and volume types).
VM_RESOURCES = ("user_vm", "cpu", "memory", "volume", "primary_storage")


@dataclass(frozen=True)
class NewUserVm:
    """A user VM as the create phase writes it: Stopped, placed nowhere yet."""

    id: int
    uuid: str
    host_name: str
    display_name: str
    account_id: int
    domain_id: int
    user_id: int
    zone_id: int
    template_id: int
    guest_os_id: int
    hypervisor_type: str
    service_offering_id: int
    ha_enabled: bool
    limit_cpu_use: bool
    dynamically_scalable: bool
    display_vm: bool = True
    user_data: str | None = None
    # Shown details (name, value); CloudStack keeps the SSH key and custom sizes here.
    details: tuple[tuple[str, str], ...] = field(default=())

    @property
    def instance_name(self) -> str:
        return f"i-{self.account_id}-{self.id}-VM"


def _vm_instance_values(vm: NewUserVm, key: str | None, now: datetime) -> dict[str, object]:
    return {
        "id": vm.id, "uuid": vm.uuid, "name": vm.host_name, "host_name": vm.host_name,
        "display_name": vm.display_name, "instance_name": vm.instance_name, "state": "Stopped",
        "vm_template_id": vm.template_id, "guest_os_id": vm.guest_os_id,
        "data_center_id": vm.zone_id, "ha_enabled": vm.ha_enabled,
        "limit_cpu_use": vm.limit_cpu_use, "update_count": 0, "update_time": now,
        "created": now, "type": "User", "vm_type": "User", "account_id": vm.account_id,
        "domain_id": vm.domain_id, "user_id": vm.user_id,
        "service_offering_id": vm.service_offering_id, "hypervisor_type": vm.hypervisor_type,
        "dynamically_scalable": vm.dynamically_scalable, "display_vm": vm.display_vm,
        # VMInstanceVO's VNC password: a random long in hex, stored encrypted.
        "vnc_password": encryption.encrypt(f"{secrets.randbits(63):x}", key),
        "power_state": "PowerOff", "power_state_update_time": now,
    }  # fmt: skip


async def insert_user_vm(
    conn: AsyncConnection, vm: NewUserVm, key: str | None, now: datetime
) -> None:
    """vm_instance + user_vm (+ details), in the caller's transaction."""
    await conn.execute(insert(vm_instance).values(**_vm_instance_values(vm, key, now)))
    await conn.execute(
        insert(user_vm).values(id=vm.id, display_name=vm.display_name, user_data=vm.user_data)
    )
    if vm.details:
        rows = [
            {"vm_id": vm.id, "name": name, "value": value, "display": True}
            for name, value in vm.details
        ]
        await conn.execute(insert(user_vm_details), rows)


async def join_group(
    conn: AsyncConnection, vm_id: int, account_id: int, name: str, now: datetime
) -> None:
    """Put the VM in the account's instance group `name`, creating the group if needed."""
    query = select(instance_group.c.id).where(
        instance_group.c.account_id == account_id,
        instance_group.c.name == name,
        instance_group.c.removed.is_(None),
    )
    group_id = await conn.scalar(query)
    if group_id is None:
        created = await conn.execute(
            insert(instance_group).values(
                account_id=account_id, name=name, uuid=new_uuid(), created=now
            )
        )
        assert created.inserted_primary_key is not None
        group_id = created.inserted_primary_key[0]
    await conn.execute(insert(instance_group_vm_map).values(group_id=group_id, instance_id=vm_id))


# --- resource counts -------------------------------------------------------------------


@dataclass(frozen=True)
class CountKey:
    """One `resource_count` row: an account's or a domain's count of one type."""

    owner: str  # "account" or "domain"
    owner_id: int
    type: str


def _owner_clause(account_id: int, domain_ids: Sequence[int]) -> ColumnElement[bool]:
    return or_(
        resource_count.c.account_id == account_id,
        and_(resource_count.c.domain_id.in_(domain_ids), resource_count.c.account_id.is_(None)),
    )


async def lock_counts(
    conn: AsyncConnection, account_id: int, domain_ids: Sequence[int], kinds: Iterable[str]
) -> dict[CountKey, int]:
    """Lock and read the untagged counts of the account and its domains (FOR UPDATE, ordered
    by id so concurrent deploys take the locks in the same order)."""
    query = (
        select(
            resource_count.c.account_id,
            resource_count.c.domain_id,
            resource_count.c.type,
            resource_count.c.count,
        )
        .where(
            _owner_clause(account_id, domain_ids),
            resource_count.c.type.in_(list(kinds)),
            resource_count.c.tag.is_(None),
        )
        .order_by(resource_count.c.id)
    )
    found: dict[CountKey, int] = {}
    for account_id_, domain_id, kind, count in (await conn.execute(for_update(query))).all():
        if account_id_ is not None:
            found[CountKey("account", int(account_id_), str(kind))] = int(count)
        else:
            found[CountKey("domain", int(domain_id), str(kind))] = int(count)
    return found


async def reserved(
    conn: AsyncConnection, account_id: int, domain_ids: Sequence[int], kinds: Iterable[str]
) -> dict[CountKey, int]:
    """Amounts the legacy server has reserved but not yet counted (resource_reservation)."""
    rows = resource_reservation.c
    query = (
        select(rows.account_id, rows.domain_id, rows.resource_type, func.sum(rows.amount))
        .where(rows.resource_type.in_(list(kinds)), rows.tag.is_(None))
        .where(or_(rows.account_id == account_id, rows.domain_id.in_(domain_ids)))
        .group_by(rows.account_id, rows.domain_id, rows.resource_type)
    )
    found: dict[CountKey, int] = {}
    for account, domain, kind, amount in (await conn.execute(query)).all():
        # A reservation row names the account and its domain; it weighs on both.
        if account == account_id:
            key = CountKey("account", account_id, str(kind))
            found[key] = found.get(key, 0) + int(amount or 0)
        if domain in domain_ids:
            key = CountKey("domain", int(domain), str(kind))
            found[key] = found.get(key, 0) + int(amount or 0)
    return found


async def change_counts(
    conn: AsyncConnection, account_id: int, domain_ids: Sequence[int], amounts: Mapping[str, int]
) -> None:
    """Add `amounts` (negative to give back) to the account's counts and every domain's above
    it, as the resource manager does; one statement for all types."""
    moving = {kind: amount for kind, amount in amounts.items() if amount != 0}
    if not moving:
        return
    added = case(
        *((resource_count.c.type == kind, amount) for kind, amount in moving.items()), else_=0
    )
    await conn.execute(
        update(resource_count)
        .where(
            _owner_clause(account_id, domain_ids),
            resource_count.c.type.in_(list(moving)),
            resource_count.c.tag.is_(None),
        )
        .values(count=resource_count.c.count + added)
    )


# --- usage events ----------------------------------------------------------------------


@dataclass(frozen=True)
class UsageEvent:
    """One `usage_event` row, as UsageEventUtils.publishUsageEvent writes it."""

    type: str
    account_id: int
    zone_id: int
    resource_id: int
    resource_name: str
    offering_id: int | None = None
    template_id: int | None = None
    size: int | None = None
    resource_type: str | None = None
    details: tuple[tuple[str, str], ...] = field(default=())


async def record_usage(conn: AsyncConnection, events: Sequence[UsageEvent], now: datetime) -> None:
    for item in events:
        result = await conn.execute(
            insert(usage_event).values(
                type=item.type,
                account_id=item.account_id,
                created=now,
                zone_id=item.zone_id,
                resource_id=item.resource_id,
                resource_name=item.resource_name,
                offering_id=item.offering_id,
                template_id=item.template_id,
                size=item.size,
                resource_type=item.resource_type,
                processed=0,
            )
        )
        if item.details:
            key = result.inserted_primary_key
            assert key is not None
            await conn.execute(
                insert(usage_event_details),
                [{"usage_event_id": key[0], "name": n, "value": v} for n, v in item.details],
            )
