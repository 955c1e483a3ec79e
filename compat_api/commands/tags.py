"""listTags: resource tags of the accounts the caller may see."""

from __future__ import annotations

from typing import Any

from compat_api.commands.accounts import list_scope
from compat_api.context import CallContext
from compat_api.listing import listed, page_of
from compat_api.registry import Command, declare
from compat_api.render import Result
from compat_api.responses import tag
from schema_bridge import tags


async def list_tags(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    scoped = await list_scope(ctx, args)
    filters = tags.TagFilter(
        key=args.get("key"),
        value=args.get("value"),
        resource_type=args.get("resourcetype"),
        resource_id=args.get("resourceid"),
        customer=args.get("customer"),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
    )
    async with ctx.db.engine.connect() as conn:
        page = await tags.tags_page(conn, filters, paging.offset, paging.limit)
    return listed(ctx, page, tag.present)


COMMANDS: list[Command] = [
    declare(
        "listTags",
        subsystem="tag",
        handler=list_tags,
        summary="Key/value tags on resources the caller's scope owns.",
    ),
]
