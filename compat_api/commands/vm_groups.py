"""listInstanceGroups and listAffinityGroups: the groups the deploy wizard offers."""

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
from schema_bridge import vm_groups

INSTANCE_GROUP = shapes.Shape(
    "instancegroup", facts_for("listInstanceGroups").response_field_names, {}
)
AFFINITY_GROUP = shapes.Shape(
    "affinitygroup", facts_for("listAffinityGroups").response_field_names, {}
)


async def _filter(ctx: CallContext, args: dict[str, Any]) -> vm_groups.GroupFilter:
    scoped = await list_scope(ctx, args)
    return vm_groups.GroupFilter(
        id=args.get("id"),
        name=args.get("name"),
        keyword=args.get("keyword"),
        type=args.get("type"),
        vm_id=args.get("virtualmachineid"),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
    )


async def list_instance_groups(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    f = await _filter(ctx, args)
    async with ctx.db.engine.connect() as conn:
        page = await vm_groups.instance_groups(conn, f, paging.offset, paging.limit)
    items = [
        INSTANCE_GROUP.build(
            {
                "id": row.uuid,
                "name": row.name,
                "created": row.created,
                **owner(row),
                "hasannotations": False,
            }
        )
        for row in page.rows
    ]
    return ListResult(items, page.total, INSTANCE_GROUP.name)


async def list_affinity_groups(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    f = await _filter(ctx, args)
    async with ctx.db.engine.connect() as conn:
        page = await vm_groups.affinity_groups(conn, f, paging.offset, paging.limit)
        members = await vm_groups.affinity_members(conn, [int(row.id) for row in page.rows])
    items = [
        AFFINITY_GROUP.build(
            {
                "id": row.uuid,
                "name": row.name,
                "description": row.description,
                **owner(row),
                "type": row.type,
                "virtualmachineIds": members[int(row.id)],
            }
        )
        for row in page.rows
    ]
    return ListResult(items, page.total, AFFINITY_GROUP.name)


COMMANDS: list[Command] = [
    declare(
        "listInstanceGroups",
        subsystem="vm",
        handler=list_instance_groups,
        summary="Instance groups (the VM `group` labels) of the accounts the caller may see.",
    ),
    declare(
        "listAffinityGroups",
        subsystem="vm",
        handler=list_affinity_groups,
        summary="Affinity and anti-affinity groups the caller may see, with their member VMs.",
    ),
]
