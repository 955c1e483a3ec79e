"""What deployVirtualMachine reads to validate a request: zone, offerings, template,
networks, addresses, key pairs, hosts. Rows are returned as stored; judging them (and the
error texts) is the API layer's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import Row, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import (
    account,
    account_network_ref,
    data_center,
    disk_offering,
    domain_network_ref,
    host,
    launch_permission,
    networks,
    nics,
    service_offering,
    service_offering_details,
    ssh_keypairs,
    storage_pool,
    template_zone_ref,
    user_ip_address,
    vm_instance,
    vm_template,
)

AnyRow: TypeAlias = Row[Any]


async def _first(conn: AsyncConnection, query: Any) -> AnyRow | None:
    row: AnyRow | None = (await conn.execute(query)).first()
    return row


async def zone(conn: AsyncConnection, zone_id: int) -> AnyRow | None:
    query = select(
        data_center.c.id,
        data_center.c.uuid,
        data_center.c.name,
        data_center.c.allocation_state,
        data_center.c.removed,
    ).where(data_center.c.id == zone_id)
    return await _first(conn, query)


async def service_offering_row(conn: AsyncConnection, offering_id: int) -> AnyRow | None:
    """The compute offering with the root-disk characteristics of its disk offering."""
    query = (
        select(
            service_offering,
            disk_offering.c.disk_size,
            disk_offering.c.provisioning_type,
        )
        .outerjoin(disk_offering, disk_offering.c.id == service_offering.c.disk_offering_id)
        .where(service_offering.c.id == offering_id)
    )
    return await _first(conn, query)


async def offering_details(conn: AsyncConnection, offering_id: int) -> dict[str, str]:
    query = select(service_offering_details.c.name, service_offering_details.c.value).where(
        service_offering_details.c.service_offering_id == offering_id
    )
    return {str(name): str(value) for name, value in (await conn.execute(query)).all()}


async def disk_offering_row(conn: AsyncConnection, offering_id: int) -> AnyRow | None:
    return await _first(conn, select(disk_offering).where(disk_offering.c.id == offering_id))


async def template_row(conn: AsyncConnection, template_id: int) -> AnyRow | None:
    return await _first(conn, select(vm_template).where(vm_template.c.id == template_id))


async def template_in_zone(conn: AsyncConnection, template_id: int, zone_id: int) -> bool:
    query = select(template_zone_ref.c.id).where(
        template_zone_ref.c.template_id == template_id,
        template_zone_ref.c.zone_id == zone_id,
        template_zone_ref.c.removed.is_(None),
    )
    return await _first(conn, query) is not None


async def launch_permitted(conn: AsyncConnection, template_id: int, account_id: int) -> bool:
    query = select(launch_permission.c.id).where(
        launch_permission.c.template_id == template_id,
        launch_permission.c.account_id == account_id,
    )
    return await _first(conn, query) is not None


async def network_row(conn: AsyncConnection, network_id: int) -> AnyRow | None:
    return await _first(conn, select(networks).where(networks.c.id == network_id))


async def shared_in_domain(
    conn: AsyncConnection, network_id: int, domain_chain: Sequence[int]
) -> bool:
    """A domain-wide shared network reaches the owner's domain: dedicated to it, or to a
    domain above it with subdomain access."""
    if not domain_chain:
        return False
    own, above = domain_chain[0], list(domain_chain[1:])
    query = select(domain_network_ref.c.id).where(
        domain_network_ref.c.network_id == network_id,
        or_(
            domain_network_ref.c.domain_id == own,
            and_(
                domain_network_ref.c.domain_id.in_(above),
                domain_network_ref.c.subdomain_access.is_(True),
            ),
        ),
    )
    return await _first(conn, query) is not None


async def account_uses_network(conn: AsyncConnection, network_id: int, account_id: int) -> bool:
    """The account owns the network or was given it (account_network_ref)."""
    query = select(account_network_ref.c.id).where(
        account_network_ref.c.network_id == network_id,
        account_network_ref.c.account_id == account_id,
    )
    if await _first(conn, query) is not None:
        return True
    owned = select(networks.c.id).where(
        networks.c.id == network_id, networks.c.account_id == account_id
    )
    return await _first(conn, owned) is not None


async def guest_networks(conn: AsyncConnection, zone_id: int) -> list[AnyRow]:
    """The zone's live guest networks, oldest first (candidates for a default network)."""
    query = (
        select(networks)
        .where(
            networks.c.data_center_id == zone_id,
            networks.c.traffic_type == "Guest",
            networks.c.removed.is_(None),
        )
        .order_by(networks.c.id)
    )
    return list((await conn.execute(query)).all())


async def address_row(conn: AsyncConnection, network_id: int, address: str) -> AnyRow | None:
    """The network's range entry for `address` (direct-attached ranges of shared networks)."""
    query = select(user_ip_address).where(
        user_ip_address.c.source_network_id == network_id,
        user_ip_address.c.public_ip_address == address,
        user_ip_address.c.removed.is_(None),
    )
    return await _first(conn, query)


async def keypairs(
    conn: AsyncConnection, account_id: int, domain_id: int, names: Sequence[str]
) -> dict[str, str]:
    """name -> public key of the owner's key pairs among `names`."""
    query = select(ssh_keypairs.c.keypair_name, ssh_keypairs.c.public_key).where(
        ssh_keypairs.c.account_id == account_id,
        ssh_keypairs.c.domain_id == domain_id,
        ssh_keypairs.c.keypair_name.in_(list(names)),
    )
    return {str(name): str(key) for name, key in (await conn.execute(query)).all()}


async def host_row(conn: AsyncConnection, host_id: int) -> AnyRow | None:
    query = select(
        host.c.id,
        host.c.uuid,
        host.c.name,
        host.c.type,
        host.c.data_center_id,
        host.c.status,
        host.c.resource_state,
        host.c.removed,
    ).where(host.c.id == host_id)
    return await _first(conn, query)


async def name_taken(conn: AsyncConnection, host_name: str, network_id: int) -> bool:
    """Whether a live VM with this host name has a NIC on the network."""
    on_network = exists().where(
        nics.c.instance_id == vm_instance.c.id,
        nics.c.network_id == network_id,
        nics.c.removed.is_(None),
    )
    query = select(vm_instance.c.id).where(
        vm_instance.c.host_name == host_name, vm_instance.c.removed.is_(None), on_network
    )
    return await _first(conn, query.limit(1)) is not None


async def pools_up(conn: AsyncConnection, zone_id: int) -> int:
    query = select(storage_pool.c.id).where(
        storage_pool.c.data_center_id == zone_id,
        storage_pool.c.status == "Up",
        storage_pool.c.removed.is_(None),
    )
    return len((await conn.execute(query)).all())


async def account_state(conn: AsyncConnection, account_id: int) -> str | None:
    query = select(account.c.state).where(account.c.id == account_id, account.c.removed.is_(None))
    value = await conn.scalar(query)
    return None if value is None else str(value)
