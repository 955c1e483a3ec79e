"""listAnnotations: the comments on a resource, which the UI's detail views load."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import comments

ANNOTATION = shapes.Shape("annotation", facts_for("listAnnotations").response_field_names, {})


def _present(row: Any) -> dict[str, Any]:
    return ANNOTATION.build(
        {
            "id": row.uuid,
            "entitytype": row.entity_type,
            "entityid": row.entity_uuid,
            "annotation": row.annotation,
            "userid": row.user_uuid,
            "username": row.username,
            "adminsonly": bool(row.admins_only),
            "created": row.created,
            "removed": row.removed,
        }
    )


async def list_annotations(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    caller = ctx.caller
    mine = args.get("annotationfilter") == "self" or not caller.is_root_admin
    # Root admins see every comment; others (until entity ownership is checked here) only the
    # comments they wrote themselves, never the admins-only ones.
    f = comments.AnnotationFilter(
        uuid=args.get("id"),
        entity_type=args.get("entitytype"),
        entity_uuid=args.get("entityid"),
        author_uuid=caller.user_uuid if mine else args.get("userid"),
        keyword=args.get("keyword"),
        include_admins_only=caller.is_root_admin,
    )
    async with ctx.db.engine.connect() as conn:
        page = await comments.annotation_page(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, ANNOTATION.name)


COMMANDS: list[Command] = [
    declare(
        "listAnnotations",
        subsystem="infra",
        handler=list_annotations,
        summary="Comments on resources; root admins see all, other callers the comments they "
        "wrote.",
    ),
]
