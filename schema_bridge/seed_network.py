"""Demo networking: a physical network, the zone's system networks, a public IP range, and
a shared /16 guest network every account can use (offerings: seed_network_offerings).

The shared network's address range grows with the number of hosts (250 per host, up to
the /16) so a 50-host cloud can address its 10,000 VMs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import utc_now
from schema_bridge.ids import NETWORKS_SEQ, PHYSICAL_NETWORKS_SEQ, allocate, new_uuid
from schema_bridge.seed_infra import PUBLIC_IP, VLAN, capacity_row, reserve_zone_macs
from schema_bridge.seed_install import insert_row
from schema_bridge.seed_network_offerings import ROUTER_SERVICES, seed_network_offerings
from schema_bridge.tables import (
    domain_network_ref,
    networks,
    ntwk_service_map,
    op_dc_vnet_alloc,
    op_host_capacity,
    op_networks,
    physical_network,
    physical_network_isolation_methods,
    physical_network_service_providers,
    physical_network_traffic_types,
    user_ip_address,
    virtual_router_providers,
    vlan,
)

SYSTEM_ACCOUNT_ID: Final = 1
ROOT_DOMAIN_ID: Final = 1
VNETS: Final = range(1000, 1100)
GUEST_CIDR: Final = ipaddress.IPv4Network("10.1.0.0/16")
GUEST_VLAN: Final = "vlan://200"
GUEST_IPS_PER_HOST: Final = 250
PUBLIC_CIDR: Final = ipaddress.IPv4Network("192.168.100.0/24")
PUBLIC_VLAN: Final = "vlan://50"
PUBLIC_RANGE: Final = (10, 200)
# (traffic type, broadcast domain type, network guru) of a zone's system networks.
SYSTEM_NETWORKS: Final = (
    ("Public", "Vlan", "PublicNetworkGuru"),
    ("Management", "Native", "PodBasedNetworkGuru"),
    ("Control", "LinkLocal", "ControlNetworkGuru"),
    ("Storage", "Native", "StorageNetworkGuru"),
)


@dataclass(frozen=True)
class Networking:
    physical_network_id: int
    public_network_id: int
    guest_network_id: int
    guest_network_uuid: str
    isolated_offering_id: int
    shared_offering_id: int
    public_ip_count: int
    guest_ip_count: int


async def _physical_network(connection: AsyncConnection, zone_id: int, now: datetime) -> int:
    network_id = await allocate(connection, PHYSICAL_NETWORKS_SEQ)
    await insert_row(
        connection,
        physical_network,
        id=network_id,
        uuid=new_uuid(),
        name="demo-physical-1",
        data_center_id=zone_id,
        vnet=f"{VNETS.start}-{VNETS.stop - 1}",
        broadcast_domain_range="ZONE",
        state="Enabled",
        created=now,
    )
    await insert_row(
        connection,
        physical_network_isolation_methods,
        physical_network_id=network_id,
        isolation_method="VLAN",
    )
    traffic = [
        {"uuid": new_uuid(), "physical_network_id": network_id, "traffic_type": kind}
        for kind in ("Guest", "Public", "Management", "Storage")
    ]
    await connection.execute(insert(physical_network_traffic_types), traffic)
    vnets = [
        {"vnet": str(vnet), "physical_network_id": network_id, "data_center_id": zone_id}
        for vnet in VNETS
    ]
    await connection.execute(insert(op_dc_vnet_alloc), vnets)
    await _virtual_router_provider(connection, network_id)
    place = {"data_center_id": zone_id}
    await connection.execute(
        insert(op_host_capacity).values(**capacity_row(VLAN, None, len(VNETS), place, now))
    )
    return network_id


async def _virtual_router_provider(connection: AsyncConnection, physical_network_id: int) -> None:
    flags = (
        "vpn",
        "dhcp",
        "dns",
        "gateway",
        "firewall",
        "source_nat",
        "load_balance",
        "static_nat",
        "port_forwarding",
        "user_data",
    )
    provider_id = await insert_row(
        connection,
        physical_network_service_providers,
        uuid=new_uuid(),
        physical_network_id=physical_network_id,
        provider_name="VirtualRouter",
        state="Enabled",
        **{f"{flag}_service_provided": True for flag in flags},
    )
    await insert_row(
        connection,
        virtual_router_providers,
        nsp_id=provider_id,
        uuid=new_uuid(),
        type="VirtualRouter",
        enabled=1,
    )


async def _network(connection: AsyncConnection, now: datetime, **values: Any) -> tuple[int, str]:
    network_id, network_uuid = await allocate(connection, NETWORKS_SEQ), new_uuid()
    await insert_row(
        connection,
        networks,
        id=network_id,
        related=network_id,
        account_id=SYSTEM_ACCOUNT_ID,
        domain_id=ROOT_DOMAIN_ID,
        created=now,
        uuid=network_uuid,
        **values,
    )
    # Only isolated networks are garbage-collected; system and shared ones are kept.
    gc = values.get("guest_type") == "Isolated"
    await insert_row(connection, op_networks, id=network_id, gc=gc, check_for_gc=gc)
    return network_id, network_uuid


async def _system_networks(
    connection: AsyncConnection,
    zone_id: int,
    physical_id: int,
    offerings: dict[str, int],
    now: datetime,
) -> int:
    """The zone's Public/Management/Control/Storage networks; returns the Public one."""
    public_id = 0
    for kind, broadcast, guru in SYSTEM_NETWORKS:
        link_local = kind == "Control"
        network_id, _ = await _network(
            connection,
            now,
            traffic_type=kind,
            broadcast_domain_type=broadcast,
            mode="Static",
            network_offering_id=offerings[f"System-{kind}-Network"],
            physical_network_id=physical_id if kind in ("Public", "Storage") else None,
            data_center_id=zone_id,
            guru_name=guru,
            state="Setup",
            gateway="169.254.0.1" if link_local else None,
            cidr="169.254.0.0/16" if link_local else None,
        )
        public_id = network_id if kind == "Public" else public_id
    return public_id


async def _ip_range(
    connection: AsyncConnection,
    *,
    place: dict[str, int],
    network_id: int,
    subnet: ipaddress.IPv4Network,
    addresses: list[str],
    vlan_uri: str,
    vlan_type: str,
    now: datetime,
) -> None:
    """A vlan row and one Free user_ip_address per address, each with a zone MAC value."""
    vlan_id = await insert_row(
        connection,
        vlan,
        uuid=new_uuid(),
        vlan_id=vlan_uri,
        vlan_gateway=str(subnet[1]),
        vlan_netmask=str(subnet.netmask),
        ip4_range=f"{addresses[0]}-{addresses[-1]}",
        vlan_type=vlan_type,
        network_id=network_id,
        created=now,
        **place,
    )
    first_mac = await reserve_zone_macs(connection, place["data_center_id"], len(addresses))
    rows = [
        {
            "uuid": new_uuid(),
            "public_ip_address": address,
            "vlan_db_id": vlan_id,
            "mac_address": first_mac + number,
            "source_network_id": network_id,
            "state": "Free",
            **place,
        }
        for number, address in enumerate(addresses)
    ]
    await connection.execute(insert(user_ip_address), rows)


def guest_addresses(hosts: int) -> list[str]:
    """Addresses of the shared network's range: 250 per host, within 10.1.0.0/16."""
    count = min(max(hosts * GUEST_IPS_PER_HOST, 250), GUEST_CIDR.num_addresses - 12)
    return [str(GUEST_CIDR[10 + index]) for index in range(count)]


async def _guest_network(
    connection: AsyncConnection, zone_id: int, physical_id: int, offering_id: int, now: datetime
) -> tuple[int, str]:
    network_id, network_uuid = await _network(
        connection,
        now,
        name="demo-shared-1",
        display_text="Shared guest network for every account",
        traffic_type="Guest",
        broadcast_domain_type="Vlan",
        broadcast_uri=GUEST_VLAN,
        gateway=str(GUEST_CIDR[1]),
        cidr=str(GUEST_CIDR),
        mode="Dhcp",
        network_offering_id=offering_id,
        physical_network_id=physical_id,
        data_center_id=zone_id,
        guru_name="DirectNetworkGuru",
        state="Setup",
        acl_type="Domain",
        guest_type="Shared",
        specify_ip_ranges=1,
    )
    services = [
        {"network_id": network_id, "service": service, "provider": "VirtualRouter", "created": now}
        for service in ROUTER_SERVICES
    ]
    await connection.execute(insert(ntwk_service_map), services)
    await insert_row(
        connection,
        domain_network_ref,
        domain_id=ROOT_DOMAIN_ID,
        network_id=network_id,
        subdomain_access=1,
    )
    return network_id, network_uuid


async def _public_range(
    connection: AsyncConnection, place: dict[str, int], network_id: int, now: datetime
) -> int:
    public = [str(PUBLIC_CIDR[index]) for index in range(PUBLIC_RANGE[0], PUBLIC_RANGE[1] + 1)]
    await _ip_range(
        connection,
        place=place,
        network_id=network_id,
        subnet=PUBLIC_CIDR,
        addresses=public,
        vlan_uri=PUBLIC_VLAN,
        vlan_type="VirtualNetwork",
        now=now,
    )
    zone = {"data_center_id": place["data_center_id"]}
    capacity = capacity_row(PUBLIC_IP, None, len(public), zone, now)
    await connection.execute(insert(op_host_capacity).values(**capacity))
    return len(public)


async def _guest_range(
    connection: AsyncConnection, place: dict[str, int], network_id: int, hosts: int, now: datetime
) -> int:
    guest = guest_addresses(hosts)
    await _ip_range(
        connection,
        place=place,
        network_id=network_id,
        subnet=GUEST_CIDR,
        addresses=guest,
        vlan_uri=GUEST_VLAN,
        vlan_type="DirectAttached",
        now=now,
    )
    return len(guest)


async def seed_networking(
    connection: AsyncConnection, zone_id: int, hosts: int, now: datetime
) -> Networking:
    """Physical network, offerings, system networks, public range and the shared guest network."""
    physical_id = await _physical_network(connection, zone_id, now)
    offerings = await seed_network_offerings(connection, now)
    public_id = await _system_networks(connection, zone_id, physical_id, offerings, now)
    place = {"data_center_id": zone_id, "physical_network_id": physical_id}
    public_count = await _public_range(connection, place, public_id, now)
    shared_offering = offerings["DefaultSharedNetworkOffering"]
    guest_id, guest_uuid = await _guest_network(
        connection, zone_id, physical_id, shared_offering, now
    )
    guest_count = await _guest_range(connection, place, guest_id, hosts, now)
    return Networking(
        physical_network_id=physical_id,
        public_network_id=public_id,
        guest_network_id=guest_id,
        guest_network_uuid=guest_uuid,
        isolated_offering_id=offerings["DefaultIsolatedNetworkOfferingWithSourceNatService"],
        shared_offering_id=shared_offering,
        public_ip_count=public_count,
        guest_ip_count=guest_count,
    )


async def add_guest_range(
    connection: AsyncConnection, network_id: int, subnet: ipaddress.IPv4Network, count: int
) -> int:
    """One more IP range on the shared guest network (CloudStack allows several per network,
    in other subnets too): how big clouds — and the 100,000-VM benchmark — get addresses."""
    row = (
        await connection.execute(
            select(networks.c.data_center_id, networks.c.physical_network_id).where(
                networks.c.id == network_id
            )
        )
    ).one()
    addresses = [str(subnet[10 + index]) for index in range(min(count, subnet.num_addresses - 12))]
    place = {
        "data_center_id": int(row.data_center_id),
        "physical_network_id": int(row.physical_network_id),
    }
    await _ip_range(
        connection,
        place=place,
        network_id=network_id,
        subnet=subnet,
        addresses=addresses,
        vlan_uri=GUEST_VLAN,
        vlan_type="DirectAttached",
        now=utc_now(),
    )
    return len(addresses)
