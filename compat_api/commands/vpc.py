"""listVPCs: the VPCs the caller may see (the UI also asks for those needing a restart)."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.commands.accounts import list_scope
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses.owned import owner
from schema_bridge import vpcs

VPC = shapes.Shape("vpc", facts_for("listVPCs").response_field_names, {})


def _present(row: Any) -> dict[str, Any]:
    return VPC.build(
        {
            "id": row.uuid,
            "name": row.name,
            "displaytext": row.display_text,
            "state": row.state,
            "zoneid": row.zone_uuid,
            "zonename": row.zone_name,
            "service": [],
            "cidr": row.cidr,
            "vpcofferingid": row.offering_uuid,
            "vpcofferingname": row.offering_name,
            "created": row.created,
            **owner(row),
            "network": [],
            "restartrequired": bool(row.restart_required),
            "networkdomain": row.network_domain,
            "tags": [],
            "fordisplay": bool(row.display),
            "distributedvpcrouter": bool(row.uses_distributed_router),
            "regionlevelvpc": bool(row.region_level_vpc),
            "redundantvpcrouter": bool(row.redundant),
            "publicmtu": row.public_mtu,
            "dns1": row.dns1,
            "dns2": row.dns2,
            "ip6dns1": row.ip6dns1,
            "ip6dns2": row.ip6dns2,
            "hasannotations": False,
        }
    )


async def list_vpcs(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    scoped = await list_scope(ctx, args)
    restart = args.get("restartrequired")
    f = vpcs.VpcFilter(
        id=args.get("id"),
        zone_id=args.get("zoneid"),
        name=args.get("name"),
        display_text=args.get("displaytext"),
        cidr=args.get("cidr"),
        offering_id=args.get("vpcofferingid"),
        state=args.get("state"),
        restart_required=None if restart is None else bool(restart),
        display=args.get("fordisplay"),
        keyword=args.get("keyword"),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
    )
    async with ctx.db.engine.connect() as conn:
        page = await vpcs.vpcs(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, VPC.name)


COMMANDS: list[Command] = [
    declare(
        "listVPCs",
        subsystem="network",
        handler=list_vpcs,
        summary="VPCs of the accounts the caller may see, with their offering and zone.",
    ),
]
