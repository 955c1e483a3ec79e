"""Guest NICs of a deploying VM on shared networks: address claims, NIC rows, release.

A shared (DirectNetworkGuru) network hands out the Free entries of its `user_ip_address`
range. A claim is a locked read (SKIP LOCKED, so concurrent claimers on one server take
different rows) followed by a conditional UPDATE ... WHERE state='Free': on Galera, where
locks are node-local, two nodes may pick the same row, both see one changed row, and the
second COMMIT fails with 1213 — the caller retries the whole transaction. The NIC's MAC is
derived from the address's own counter, so a unique address gives a unique MAC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import for_update
from schema_bridge.ids import new_uuid
from schema_bridge.tables import networks, nics, op_networks, user_ip_address, vlan, vm_instance
from schema_bridge.vm_rows import direct_mac


@dataclass(frozen=True)
class ClaimedAddress:
    id: int
    address: str
    mac: str
    netmask: str
    gateway: str
    vlan_uri: str | None


@dataclass(frozen=True)
class NewNic:
    vm_id: int
    network_id: int
    device_id: int
    default: bool
    claim: ClaimedAddress


def _free_query(network_id: int) -> Any:
    # Only user_ip_address is read under the lock: joining vlan would lock the range's one
    # vlan row too, and SKIP LOCKED would then skip every address behind it.
    return select(
        user_ip_address.c.id,
        user_ip_address.c.public_ip_address,
        user_ip_address.c.mac_address,
        user_ip_address.c.vlan_db_id,
    ).where(
        user_ip_address.c.source_network_id == network_id,
        user_ip_address.c.state == "Free",
        user_ip_address.c.removed.is_(None),
    )


async def claim_address(
    conn: AsyncConnection,
    network_id: int,
    owner: tuple[int, int],
    wanted: str | None,
    now: datetime,
) -> ClaimedAddress | None:
    """Take a Free address of the network for (account id, domain id): `wanted`, or the
    lowest free one. None when there is none (or `wanted` is not free)."""
    query = _free_query(network_id)
    if wanted is not None:
        query = query.where(user_ip_address.c.public_ip_address == wanted)
    # Walk the state index (Free rows only, in id order) rather than the primary key: with
    # 100,000 addresses taken, a primary-key walk would lock every taken row on the way.
    hint = "FORCE INDEX (i_user_ip_address_state)"
    query = (
        query.order_by(user_ip_address.c.id)
        .limit(1)
        .with_hint(user_ip_address, hint, "mysql")
        .with_hint(user_ip_address, hint, "mariadb")
    )
    row = (await conn.execute(for_update(query, skip_locked=True))).first()
    if row is None:
        return None
    account_id, domain_id = owner
    changed = await conn.execute(
        update(user_ip_address)
        .where(user_ip_address.c.id == row.id, user_ip_address.c.state == "Free")
        .values(state="Allocated", allocated=now, account_id=account_id, domain_id=domain_id)
    )
    if changed.rowcount != 1:
        return None
    ip_range = (
        await conn.execute(
            select(vlan.c.vlan_gateway, vlan.c.vlan_netmask, vlan.c.vlan_id).where(
                vlan.c.id == row.vlan_db_id
            )
        )
    ).one()
    return ClaimedAddress(
        id=int(row.id),
        address=str(row.public_ip_address),
        mac=direct_mac(int(row.mac_address)),
        netmask=str(ip_range.vlan_netmask),
        gateway=str(ip_range.vlan_gateway),
        vlan_uri=ip_range.vlan_id,
    )


async def insert_nic(conn: AsyncConnection, nic: NewNic, now: datetime) -> int:
    """The NIC row as DirectNetworkGuru reserves it, and the network's NIC count."""
    network = (await conn.execute(select(networks).where(networks.c.id == nic.network_id))).one()
    claim = nic.claim
    uri = network.broadcast_uri or claim.vlan_uri
    result = await conn.execute(
        insert(nics).values(
            uuid=new_uuid(), instance_id=nic.vm_id, network_id=nic.network_id,
            device_id=nic.device_id, mac_address=claim.mac, ip4_address=claim.address,
            ip_type="Ip4", netmask=claim.netmask, gateway=claim.gateway, broadcast_uri=uri,
            isolation_uri=uri, mode=network.mode, state="Reserved", strategy="Create",
            reserver_name=network.guru_name, reservation_id=claim.vlan_uri,
            default_nic=int(nic.default), vm_type="User", update_time=now, created=now,
        )
    )  # fmt: skip
    await conn.execute(
        update(op_networks)
        .where(op_networks.c.id == nic.network_id)
        .values(nics_count=op_networks.c.nics_count + 1)
    )
    if nic.default:
        await conn.execute(
            update(vm_instance)
            .where(vm_instance.c.id == nic.vm_id)
            .values(private_ip_address=claim.address, private_mac_address=claim.mac)
        )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def release_nics(conn: AsyncConnection, vm_id: int, now: datetime) -> int:
    """Give the VM's addresses back (Free, no owner) and remove its NICs; returns how many."""
    query = select(nics.c.id, nics.c.network_id, nics.c.ip4_address).where(
        nics.c.instance_id == vm_id, nics.c.removed.is_(None)
    )
    found = (await conn.execute(query)).all()
    for nic in found:
        if nic.ip4_address is not None:
            await conn.execute(
                update(user_ip_address)
                .where(
                    user_ip_address.c.source_network_id == nic.network_id,
                    user_ip_address.c.public_ip_address == nic.ip4_address,
                    user_ip_address.c.state == "Allocated",
                    user_ip_address.c.removed.is_(None),
                )
                .values(state="Free", allocated=None, account_id=None, domain_id=None)
            )
        await conn.execute(
            update(nics)
            .where(nics.c.id == nic.id)
            .values(state="Deallocating", removed=now, update_time=now)
        )
        await conn.execute(
            update(op_networks)
            .where(op_networks.c.id == nic.network_id)
            .values(nics_count=op_networks.c.nics_count - 1)
        )
    await conn.execute(
        update(vm_instance)
        .where(vm_instance.c.id == vm_id)
        .values(private_ip_address=None, private_mac_address=None)
    )
    return len(found)
