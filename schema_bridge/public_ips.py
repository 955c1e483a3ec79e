"""Public IP addresses in `user_ip_address`, claimed and released as CloudStack's IP address
manager does it.

A claim is `SELECT ... FOR UPDATE SKIP LOCKED` over Free addresses of the zone's public
(VirtualNetwork) ranges followed by a conditional `UPDATE ... WHERE state = 'Free'`: two
claimers on one MariaDB skip each other's rows; on Galera, where locks are node-local, the
same row may be picked twice, but only one COMMIT certifies and the other sees 1213 and is
retried. The table has no update_count, so its state changes compare the state alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import resource_counts
from schema_bridge.dialect import for_update, utc_now
from schema_bridge.tables import (
    account_vlan_map,
    domain_vlan_map,
    firewall_rules,
    networks,
    ntwk_service_map,
    op_host_capacity,
    user_ip_address,
    vlan,
)
from schema_bridge.vm_accounting import UsageEvent, record_usage

PUBLIC_IP_CAPACITY: Final = 4
VIRTUAL_NETWORK: Final = "VirtualNetwork"
# Candidates read per attempt: enough that concurrent claimers rarely need a second read.
_BATCH: Final = 8


@dataclass(frozen=True)
class IpRow:
    id: int
    uuid: str
    public_ip_address: str
    state: str
    account_id: int | None
    domain_id: int | None
    data_center_id: int
    source_nat: bool
    allocated: datetime | None
    vlan_db_id: int
    one_to_one_nat: bool
    is_system: bool
    network_id: int | None
    removed: datetime | None
    vlan_type: str | None


def _columns() -> list[Any]:
    names = [n for n in IpRow.__dataclass_fields__ if n != "vlan_type"]
    return [user_ip_address.c[n] for n in names] + [vlan.c.vlan_type]


def _row(found: Any) -> IpRow:
    values = dict(found._mapping)
    for flag in ("source_nat", "one_to_one_nat", "is_system"):
        values[flag] = bool(values[flag])
    return IpRow(**values)


def _joined() -> Any:
    return select(*_columns()).select_from(
        user_ip_address.outerjoin(vlan, vlan.c.id == user_ip_address.c.vlan_db_id)
    )


async def ip_by_id(conn: AsyncConnection, ip_id: int) -> IpRow | None:
    found = (await conn.execute(_joined().where(user_ip_address.c.id == ip_id))).first()
    return None if found is None else _row(found)


async def ip_by_address(conn: AsyncConnection, address: str) -> IpRow | None:
    """The live (not removed) public address with this text, in any zone."""
    query = _joined().where(
        user_ip_address.c.public_ip_address == address, user_ip_address.c.removed.is_(None)
    )
    found = (await conn.execute(query.order_by(user_ip_address.c.id))).first()
    return None if found is None else _row(found)


class IpStates:
    """ResourceStates for public IPs (state only: the table has no update_count)."""

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None:
        query = select(user_ip_address.c.state).where(user_ip_address.c.id == resource_id)
        value = await conn.scalar(query)
        return None if value is None else str(value)

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        changed = await conn.execute(
            update(user_ip_address)
            .where(user_ip_address.c.id == resource_id, user_ip_address.c.state.in_(from_states))
            .where(user_ip_address.c.removed.is_(None))
            .values(state=to_state)
        )
        return changed.rowcount == 1


@dataclass(frozen=True)
class Claimant:
    account_id: int
    domain_id: int
    domain_chain: tuple[int, ...]


def usable_by(who: Claimant) -> Any:
    """Ranges dedicated to another account or to a domain outside the owner's chain are not
    the owner's to take; undedicated (system) ranges are everyone's."""
    other_account = exists().where(
        account_vlan_map.c.vlan_db_id == vlan.c.id, account_vlan_map.c.account_id != who.account_id
    )
    other_domain = exists().where(
        domain_vlan_map.c.vlan_db_id == vlan.c.id,
        domain_vlan_map.c.domain_id.notin_(who.domain_chain),
    )
    return and_(~other_account, ~other_domain)


def _candidates(zone_id: int, who: Claimant, address: str | None) -> Any:
    query = (
        select(user_ip_address.c.id)
        .join(vlan, vlan.c.id == user_ip_address.c.vlan_db_id)
        .where(user_ip_address.c.data_center_id == zone_id, user_ip_address.c.state == "Free")
        .where(user_ip_address.c.removed.is_(None), user_ip_address.c.forsystemvms.is_(False))
        .where(vlan.c.vlan_type == VIRTUAL_NETWORK, vlan.c.removed.is_(None), usable_by(who))
        .order_by(user_ip_address.c.id)
    )
    if address is not None:
        query = query.where(user_ip_address.c.public_ip_address == address)
    return for_update(query.limit(_BATCH), skip_locked=True)


class NoFreeAddressError(Exception):
    """The zone's public ranges have no Free address for this owner (or not the one asked)."""


async def _take_one(conn: AsyncConnection, zone_id: int, who: Claimant, address: str | None) -> int:
    for _ in range(4):
        ids = list((await conn.execute(_candidates(zone_id, who, address))).scalars())
        if not ids:
            break
        for ip_id in ids:
            changed = await conn.execute(
                update(user_ip_address)
                .where(user_ip_address.c.id == ip_id, user_ip_address.c.state == "Free")
                .values(
                    state="Allocating",
                    account_id=who.account_id,
                    domain_id=who.domain_id,
                    allocated=utc_now(),
                )
            )
            if changed.rowcount == 1:
                return int(ip_id)
    raise NoFreeAddressError(f"no free public address in zone {zone_id}")


async def claim(
    conn: AsyncConnection, zone_id: int, who: Claimant, address: str | None = None
) -> IpRow:
    """Take one Free public address (the given one, if any) for `who` inside the caller's
    transaction: Allocating, owned, allocated now; the owner's public_ip count (within its
    limits: LimitExceededError), the zone's IP capacity and a NET.IPASSIGN usage record
    follow in the same transaction."""
    await resource_counts.take(conn, who.account_id, "public_ip", 1)
    ip = await ip_by_id(conn, await _take_one(conn, zone_id, who, address))
    assert ip is not None
    await adjust_zone_capacity(conn, zone_id, 1)
    await record_usage(conn, ip_usage("NET.IPASSIGN", ip, who.account_id))
    return ip


def ip_usage(event_type: str, ip: IpRow, account_id: int) -> UsageEvent:
    """CloudStack's IP usage record: `size` flags source NAT, `template_id` a system IP and
    `resource_type` carries the VLAN type."""
    return UsageEvent(
        type=event_type,
        account_id=account_id,
        zone_id=ip.data_center_id,
        resource_id=ip.id,
        resource_name=ip.public_ip_address,
        size=int(ip.source_nat),
        template_id=int(ip.is_system),
        resource_type=ip.vlan_type,
    )


async def adjust_zone_capacity(conn: AsyncConnection, zone_id: int, amount: int) -> None:
    """The zone's public IP capacity counts allocated addresses (CloudStack's IP capacity)."""
    row = op_host_capacity.c
    await conn.execute(
        update(op_host_capacity)
        .where(row.data_center_id == zone_id, row.capacity_type == PUBLIC_IP_CAPACITY)
        .where(row.host_id.is_(None), row.pod_id.is_(None))
        .values(used_capacity=row.used_capacity + amount, update_time=utc_now())
    )


async def associate(conn: AsyncConnection, ip_id: int, network_id: int) -> None:
    await conn.execute(
        update(user_ip_address)
        .where(user_ip_address.c.id == ip_id, user_ip_address.c.network_id.is_(None))
        .values(network_id=network_id)
    )


async def release(conn: AsyncConnection, ip: IpRow, state: str, account_id: int) -> bool:
    """Give an address back to the pool (owner, time, network and NAT cleared) if it is in
    `state` and still owned by `account_id`, with the count, capacity and NET.IPRELEASE
    usage record; False when that was done already (nothing changes then)."""
    changed = await conn.execute(
        update(user_ip_address)
        .where(user_ip_address.c.id == ip.id, user_ip_address.c.state == state)
        .where(user_ip_address.c.account_id == account_id)
        .values(
            account_id=None,
            domain_id=None,
            allocated=None,
            network_id=None,
            vpc_id=None,
            source_nat=0,
            one_to_one_nat=0,
            vm_id=None,
            dnat_vmip=None,
            rule_state=None,
            is_portable=0,
        )
    )
    if changed.rowcount != 1:
        return False
    await resource_counts.give_back(conn, account_id, "public_ip", 1)
    await adjust_zone_capacity(conn, ip.data_center_id, -1)
    await record_usage(conn, ip_usage("NET.IPRELEASE", ip, account_id))
    return True


async def has_rules(conn: AsyncConnection, ip_id: int) -> bool:
    """Firewall, port forwarding, load balancing or NAT rules still use the address."""
    query = select(firewall_rules.c.id).where(
        firewall_rules.c.ip_address_id == ip_id,
        or_(firewall_rules.c.state.is_(None), firewall_rules.c.state != "Revoke"),
    )
    return (await conn.execute(query.limit(1))).first() is not None


@dataclass(frozen=True)
class GuestNetwork:
    """What associating an address with a network checks."""

    id: int
    uuid: str
    zone_id: int
    account_id: int
    domain_id: int
    traffic_type: str
    guest_type: str | None
    services: frozenset[str]


async def guest_network(conn: AsyncConnection, network_id: int) -> GuestNetwork | None:
    """A live network with its services (None when removed or unknown)."""
    query = select(
        networks.c.id,
        networks.c.uuid,
        networks.c.data_center_id,
        networks.c.account_id,
        networks.c.domain_id,
        networks.c.traffic_type,
        networks.c.guest_type,
    ).where(networks.c.id == network_id, networks.c.removed.is_(None))
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    services = select(ntwk_service_map.c.service).where(ntwk_service_map.c.network_id == row.id)
    found = frozenset(str(s) for s in (await conn.execute(services)).scalars())
    return GuestNetwork(
        int(row.id),
        str(row.uuid),
        int(row.data_center_id),
        int(row.account_id),
        int(row.domain_id),
        str(row.traffic_type),
        row.guest_type,
        found,
    )
