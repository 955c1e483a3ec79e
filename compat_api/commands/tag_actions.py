"""createTags and deleteTags: engine jobs, with resources, permissions and duplicates checked
before the job is queued (CloudStack finds these only inside the job)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner, started, submit_job
from compat_api.context import CallContext
from compat_api.registry import Command, declare
from compat_api.render import Result
from engine.jobs.submit import SubmittedJob
from engine.lifecycle import Process
from engine.tags.processes import CREATE, DELETE
from schema_bridge import tag_rows
from schema_bridge.ids import new_uuid
from schema_bridge.tag_rows import NewTag, Tagged

# A batch job names no resource of its own (CloudStack stores instance type None).
NO_RESOURCE = 0


def _resource_type(value: str) -> str:
    found = tag_rows.canonical_type(value)
    if found is None:
        raise errors.invalid_parameter(f"Invalid resource type {value}")
    if found not in tag_rows.SERVED:
        raise errors.invalid_parameter(
            f"Tags on resources of type {found} are not supported by this server"
        )
    return found


def _pairs(raw: dict[int, dict[str, str]] | None) -> dict[str, str | None]:
    """tags[i].key / tags[i].value in index order; a repeated key keeps the last value."""
    pairs: dict[str, str | None] = {}
    for index in sorted(raw or {}):
        entry = (raw or {})[index]
        key = entry.get("key")
        if key is None or key.strip() == "":
            raise errors.invalid_parameter("Blank tag key is not allowed")
        pairs[key] = entry.get("value")
    return pairs


async def _resource(conn: AsyncConnection, kind: str, ref: str) -> Tagged:
    found = await tag_rows.find_resource(conn, kind, ref)
    if found is None:
        how = "id" if ref.isdigit() else "uuid"
        raise errors.invalid_parameter(f"Unable to find resource by {how} {ref} and type {kind}")
    return found


def _new_tags(
    kind: str, resources: list[Tagged], pairs: dict[str, str], customer: str | None
) -> list[NewTag]:
    return [
        NewTag(
            uuid=new_uuid(),
            key=key,
            value=value,
            resource_id=resource.id,
            resource_uuid=resource.uuid,
            resource_type=kind,
            customer=customer,
            account_id=resource.account_id,
            domain_id=resource.domain_id,
        )
        for key, value in pairs.items()
        for resource in resources
    ]


async def _checked_resources(
    ctx: CallContext, conn: AsyncConnection, kind: str, refs: list[str]
) -> list[Tagged]:
    resources: list[Tagged] = []
    for ref in dict.fromkeys(refs):
        resource = await _resource(conn, kind, ref)
        await check_owner(conn, ctx.caller, Owner(resource.account_id, resource.domain_id))
        resources.append(resource)
    return resources


async def create_tags(ctx: CallContext, args: dict[str, Any]) -> Result:
    kind = _resource_type(args["resourcetype"])
    pairs = _pairs(args.get("tags"))
    for key, value in pairs.items():
        if value is None or value == "":
            raise errors.invalid_parameter(f"Value for the key {key} is either null or empty")
    values = {k: str(v) for k, v in pairs.items()}
    async with ctx.db.engine.begin() as conn:
        resources = await _checked_resources(ctx, conn, kind, list(args["resourceids"]))
        taken = await tag_rows.taken_keys(conn, kind, [r.id for r in resources], values)
        if taken:
            resource_id, key = taken[0]
            ref = next(r.uuid for r in resources if r.id == resource_id)
            raise errors.ApiError(
                errors.INTERNAL_ERROR,
                f"tag {key} already on {kind} with id {ref}",
                errors.CS_CLOUD_RUNTIME,
            )
        tags = _new_tags(kind, resources, values, args.get("customer"))
        job = await _submit(ctx, conn, CREATE, {"tags": tag_rows.tag_args(tags)})
    return started(ctx, job)


async def _submit(
    ctx: CallContext, conn: AsyncConnection, process: Process, step_args: dict[str, Any]
) -> SubmittedJob:
    owner = Owner(ctx.caller.account_id, ctx.caller.domain_id)
    return await submit_job(ctx, conn, process, NO_RESOURCE, "", owner, step_args)


async def delete_tags(ctx: CallContext, args: dict[str, Any]) -> Result:
    kind = _resource_type(args["resourcetype"])
    wanted = _pairs(args.get("tags"))
    async with ctx.db.engine.begin() as conn:
        found = await tag_rows.tags_of(conn, kind, [str(r) for r in args["resourceids"]])
        for row in found:
            await check_owner(conn, ctx.caller, Owner(row.account_id, row.domain_id))
        doomed = [row.id for row in found if tag_rows.matches(row, wanted)]
        if not doomed:
            raise errors.invalid_parameter(
                "Unable to find any tags which conform to specified delete parameters."
            )
        job = await _submit(ctx, conn, DELETE, {"ids": doomed})
    return started(ctx, job)


COMMANDS: list[Command] = [
    declare(
        "createTags",
        subsystem="tag",
        handler=create_tags,
        summary="Puts key/value tags on resources the caller may change.",
    ),
    declare(
        "deleteTags",
        subsystem="tag",
        handler=delete_tags,
        summary="Removes tags (all, by key, or by key and value) from resources.",
    ),
]
