"""Steps of tag batches. The API resolved every resource, checked permissions and computed
the rows (or ids) at submission; a step writes them in one transaction and is repeatable:
tags are recognised by the uuids chosen at submission, deletions by id."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from engine.lifecycle import StepContext, StepFailedError
from schema_bridge import tag_rows
from schema_bridge.tag_rows import NewTag

INTERNAL_ERROR = 530


async def create_tags(ctx: StepContext) -> None:
    tags = [NewTag(**t) for t in ctx.args["tags"]]
    try:
        async with ctx.db.engine.begin() as conn:
            await tag_rows.insert_tags(conn, tags)
    except IntegrityError as clash:
        raise StepFailedError(INTERNAL_ERROR, await _clash_text(ctx, tags)) from clash


async def _clash_text(ctx: StepContext, tags: list[NewTag]) -> str:
    """CloudStack's text for a key some other request put on the resource meanwhile."""
    async with ctx.db.engine.connect() as conn:
        for tag in tags:
            taken = await tag_rows.taken_keys(conn, tag.resource_type, [tag.resource_id], [tag.key])
            if taken:
                return f"tag {tag.key} already on {tag.resource_type} with id {tag.resource_uuid}"
    return "a tag of this request already exists"


async def delete_tags(ctx: StepContext) -> None:
    async with ctx.db.engine.begin() as conn:
        await tag_rows.delete_tags(conn, [int(i) for i in ctx.args["ids"]])
