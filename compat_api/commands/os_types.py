"""listOsTypes and listOsCategories: the guest OS types templates and VMs are labelled with,
and the categories they are grouped in."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import guest_os

OS_TYPE = shapes.Shape("ostype", facts_for("listOsTypes").response_field_names, {})
OS_CATEGORY = shapes.Shape("oscategory", facts_for("listOsCategories").response_field_names, {})


def _present(row: Any) -> dict[str, Any]:
    return OS_TYPE.build(
        {
            "id": row.uuid,
            "oscategoryid": row.category_uuid,
            "oscategoryname": row.category_name,
            "name": row.name,
            "description": row.display_name,
            "isuserdefined": bool(row.is_user_defined),
            "fordisplay": bool(row.display),
        }
    )


async def list_os_types(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    f = guest_os.OsFilter(
        id=args.get("id"),
        category_id=args.get("oscategoryid"),
        description=args.get("description"),
        for_display=args.get("fordisplay"),
        keyword=args.get("keyword"),
    )
    async with ctx.db.engine.connect() as conn:
        page = await guest_os.os_types(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, OS_TYPE.name)


def _present_category(row: Any) -> dict[str, Any]:
    # The 4.20 table has no is_featured, created or icon: those fields are left out.
    return OS_CATEGORY.build({"id": row.uuid, "name": row.name})


async def list_os_categories(ctx: CallContext, args: dict[str, Any]) -> Result:
    """isfeatured, isiso, isvnf, zoneid, arch and showicon (4.21 params) are accepted and,
    with no column behind them in the 4.20 schema, ignored: every category is listed."""
    paging = page_of(ctx, args)
    f = guest_os.CategoryFilter(
        id=args.get("id"), name=args.get("name"), keyword=args.get("keyword")
    )
    async with ctx.db.engine.connect() as conn:
        page = await guest_os.categories(conn, f, paging.offset, paging.limit)
    rows = [_present_category(row) for row in page.rows]
    return ListResult(rows, page.total, OS_CATEGORY.name)


COMMANDS: list[Command] = [
    declare(
        "listOsTypes",
        subsystem="template",
        handler=list_os_types,
        summary="Guest OS types with their category, for labelling templates and VMs.",
    ),
    declare(
        "listOsCategories",
        subsystem="template",
        handler=list_os_categories,
        summary="Guest OS categories, the groups the deploy wizard sorts templates into.",
    ),
]
