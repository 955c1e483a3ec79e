"""listNetworkServiceProviders: the providers (VirtualRouter, SecurityGroupProvider...) of the
physical networks; the UI asks at login whether security groups are offered."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import service_providers

PROVIDER = shapes.Shape(
    "networkserviceprovider", facts_for("listNetworkServiceProviders").response_field_names, {}
)
# Which `*_service_provided` column stands for which Network.Service name.
SERVICES = (
    ("vpn_service_provided", "Vpn"),
    ("dhcp_service_provided", "Dhcp"),
    ("dns_service_provided", "Dns"),
    ("gateway_service_provided", "Gateway"),
    ("firewall_service_provided", "Firewall"),
    ("source_nat_service_provided", "SourceNat"),
    ("load_balance_service_provided", "Lb"),
    ("static_nat_service_provided", "StaticNat"),
    ("port_forwarding_service_provided", "PortForwarding"),
    ("user_data_service_provided", "UserData"),
    ("security_group_service_provided", "SecurityGroup"),
    ("networkacl_service_provided", "NetworkACL"),
)
# Elements whose services can be switched on one by one.
INDIVIDUAL = frozenset({"VirtualRouter", "VpcVirtualRouter"})


def _present(row: Any) -> dict[str, Any]:
    mapping = row._mapping
    return PROVIDER.build(
        {
            "name": row.provider_name,
            "physicalnetworkid": row.network_uuid,
            "destinationphysicalnetworkid": row.destination_uuid,
            "state": row.state,
            "id": row.uuid,
            "servicelist": [name for column, name in SERVICES if mapping[column]],
            "canenableindividualservice": row.provider_name in INDIVIDUAL,
        }
    )


async def list_network_service_providers(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    f = service_providers.ProviderFilter(
        physical_network_id=args.get("physicalnetworkid"),
        name=args.get("name"),
        state=args.get("state"),
        keyword=args.get("keyword"),
    )
    async with ctx.db.engine.connect() as conn:
        page = await service_providers.providers(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, PROVIDER.name)


COMMANDS: list[Command] = [
    declare(
        "listNetworkServiceProviders",
        subsystem="network",
        handler=list_network_service_providers,
        roles=ADMINS,
        summary="Network service providers of the physical networks, with their state and "
        "the services they provide.",
    ),
]
