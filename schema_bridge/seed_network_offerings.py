"""The default network offerings a first management-server start creates, with the
services each one's virtual router provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.ids import new_uuid
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import network_offerings, ntwk_offering_service_map

SYSTEM_TRAFFIC_TYPES: Final = ("Public", "Management", "Control", "Storage")
ROUTER_SERVICES: Final = ("Dhcp", "Dns", "UserData")
SOURCE_NAT_SERVICES: Final = (
    *ROUTER_SERVICES,
    "Firewall",
    "Gateway",
    "Lb",
    "PortForwarding",
    "SourceNat",
    "StaticNat",
    "Vpn",
)


@dataclass(frozen=True)
class _Offering:
    unique_name: str
    traffic_type: str
    guest_type: str | None
    services: tuple[str, ...]
    availability: str = "Optional"
    specify_vlan: bool = False
    specify_ip_ranges: bool = False


OFFERINGS: Final = (
    *(
        _Offering(f"System-{kind}-Network", kind, None, (), "Required")
        for kind in SYSTEM_TRAFFIC_TYPES
    ),
    _Offering(
        "DefaultIsolatedNetworkOfferingWithSourceNatService",
        "Guest",
        "Isolated",
        SOURCE_NAT_SERVICES,
        "Required",
    ),
    _Offering(
        "DefaultIsolatedNetworkOffering",
        "Guest",
        "Isolated",
        ROUTER_SERVICES,
        specify_ip_ranges=True,
    ),
    _Offering(
        "DefaultSharedNetworkOffering",
        "Guest",
        "Shared",
        ROUTER_SERVICES,
        specify_vlan=True,
        specify_ip_ranges=True,
    ),
    _Offering("DefaultL2NetworkOffering", "Guest", "L2", ()),
)


async def seed_network_offerings(connection: AsyncConnection, now: datetime) -> dict[str, int]:
    """Every default offering, enabled; returns unique name -> id."""
    ids: dict[str, int] = {}
    for offering in OFFERINGS:
        offering_id = await insert_row(
            connection,
            network_offerings,
            name=offering.unique_name,
            uuid=new_uuid(),
            unique_name=offering.unique_name,
            display_text=f"Offering for {offering.unique_name}",
            traffic_type=offering.traffic_type,
            system_only=int(offering.guest_type is None),
            specify_vlan=int(offering.specify_vlan),
            specify_ip_ranges=int(offering.specify_ip_ranges),
            created=now,
            default=1,
            availability=offering.availability,
            state="Enabled",
            guest_type=offering.guest_type,
        )
        services = [
            {
                "network_offering_id": offering_id,
                "service": service,
                "provider": "VirtualRouter",
                "created": now,
            }
            for service in offering.services
        ]
        if services:
            await connection.execute(insert(ntwk_offering_service_map), services)
        ids[offering.unique_name] = offering_id
    return ids
