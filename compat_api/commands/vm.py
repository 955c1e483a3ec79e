"""listVirtualMachines: the caller's VMs (or, with listall, its scope's), a page at a time."""

from __future__ import annotations

from typing import Any

from compat_api.context import CallContext
from compat_api.listing import empty, ids_of, page_of, wants_id
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses import vm
from compat_api.scope import Scope, owner_scope
from schema_bridge import vms


def _filter(ctx: CallContext, args: dict[str, Any], scope: Scope) -> vms.VmFilter:
    admin = ctx.caller.is_root_admin
    return vms.VmFilter(
        ids=ids_of(args),
        name=args.get("name"),
        keyword=args.get("keyword"),
        state=args.get("state"),
        zone_id=args.get("zoneid"),
        # Placement filters are for root admins; CloudStack ignores them for others.
        pod_id=args.get("podid") if admin else None,
        host_id=args.get("hostid") if admin else None,
        template_id=args.get("templateid"),
        service_offering_id=args.get("serviceofferingid"),
        network_id=args.get("networkid"),
        group_id=args.get("groupid"),
        hypervisor=args.get("hypervisor"),
        ha_enabled=args.get("haenable"),
        account_ids=scope.account_ids,
        domain_ids=scope.domain_ids,
        hide_gone=not admin,
        display=args.get("displayvm") if admin else True,
    )


async def list_virtual_machines(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    groups = vm.detail_groups(args.get("details"))
    if wants_id(args) and not ids_of(args):
        return empty(ctx)
    if "projectid" in args:
        # Project resources are not served yet; a project filter matches nothing.
        return empty(ctx)
    scope = await owner_scope(ctx, args)
    async with ctx.db.engine.connect() as conn:
        page = await vms.vm_page(conn, _filter(ctx, args, scope), paging.offset, paging.limit)
    if args.get("retrieveonlyresourcecount"):
        return ListResult([], page.total, "virtualmachine")
    items = [vm.present(record, ctx.caller, groups) for record in page.records]
    return ListResult(items, page.total, "virtualmachine")


COMMANDS: list[Command] = [
    declare(
        "listVirtualMachines",
        subsystem="vm",
        handler=list_virtual_machines,
        summary="Virtual machines of the caller, or of its domain tree with listall; "
        "root admins also see host placement and instance names.",
    ),
]
