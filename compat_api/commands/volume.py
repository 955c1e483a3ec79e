"""listVolumes: the caller's volumes (or, with listall, its scope's), a page at a time."""

from __future__ import annotations

from typing import Any

from compat_api.context import CallContext
from compat_api.listing import empty, ids_of, page_of, wants_id
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses import volume
from compat_api.scope import Scope, owner_scope
from schema_bridge import volumes


def _filter(ctx: CallContext, args: dict[str, Any], scope: Scope) -> volumes.VolumeFilter:
    admin = ctx.caller.is_root_admin
    # storageid is declared as a string; only a resolved internal id can filter.
    pool = args.get("storageid")
    return volumes.VolumeFilter(
        ids=ids_of(args),
        name=args.get("name"),
        keyword=args.get("keyword"),
        volume_type=args.get("type"),
        state=args.get("state"),
        vm_id=args.get("virtualmachineid"),
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        cluster_id=args.get("clusterid") if admin else None,
        pool_id=pool if admin and isinstance(pool, int) else None,
        disk_offering_id=args.get("diskofferingid"),
        account_ids=scope.account_ids,
        domain_ids=scope.domain_ids,
        display=args.get("displayvolume") if admin else True,
        system_vms=admin and bool(args.get("listsystemvms")),
    )


async def list_volumes(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    if wants_id(args) and not ids_of(args):
        return empty(ctx)
    if "projectid" in args:
        # Project resources are not served yet; a project filter matches nothing.
        return empty(ctx)
    scope = await owner_scope(ctx, args)
    async with ctx.db.engine.connect() as conn:
        page = await volumes.volume_page(
            conn, _filter(ctx, args, scope), paging.offset, paging.limit
        )
    if args.get("retrieveonlyresourcecount"):
        return ListResult([], page.total, "volume")
    items = [volume.present(record, ctx.caller) for record in page.records]
    return ListResult(items, page.total, "volume")


COMMANDS: list[Command] = [
    declare(
        "listVolumes",
        subsystem="volume",
        handler=list_volumes,
        summary="Volumes of the caller, or of its domain tree with listall; root admins "
        "also see the storage pool, path, pod and cluster.",
    ),
]
