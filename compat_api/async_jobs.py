"""Async commands on the engine: permission, submission, the immediate {id, jobid} answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.caller import Caller
from compat_api.context import CallContext
from compat_api.render import AsyncResult
from engine.jobs.submit import JobRequest, SubmittedJob, submit
from engine.lifecycle import Process
from schema_bridge import accounts


@dataclass(frozen=True)
class EngineHandle:
    """What request handlers need of this process's job runner."""

    msid: int
    wake: Callable[[], None]


@dataclass(frozen=True)
class Owner:
    account_id: int
    domain_id: int


def engine_of(ctx: CallContext) -> EngineHandle:
    if ctx.engine is None:
        raise errors.ApiError(
            errors.INTERNAL_ERROR,
            "the engine is not running in this process",
            errors.CS_CLOUD_RUNTIME,
        )
    return ctx.engine


async def check_owner(conn: AsyncConnection, caller: Caller, owner: Owner) -> None:
    """Users act on their own account's resources, domain admins inside their subtree."""
    if caller.is_root_admin or owner.account_id == caller.account_id:
        return
    if caller.role_type in ("DomainAdmin", "ResourceAdmin"):
        path = await accounts.domain_path_of(conn, owner.domain_id)
        if path is not None and path.startswith(caller.domain_path):
            return
    raise errors.permission_denied()


def java_class(ctx: CallContext) -> str:
    """The command class CloudStack records in job_cmd: the ByAdmin variant for admins."""
    classes = ctx.command.facts.source_classes
    admin = [c for c in classes if ".admin." in c]
    user = [c for c in classes if ".admin." not in c]
    chosen = admin if ctx.caller.is_root_admin and admin else user or admin
    return chosen[0] if chosen else ctx.command.name


def raw_params(ctx: CallContext) -> Mapping[str, str]:
    return ctx.raw_params


async def submit_job(
    ctx: CallContext,
    conn: AsyncConnection,
    process: Process,
    resource_id: int,
    resource_uuid: str,
    owner: Owner,
    args: Mapping[str, Any],
) -> SubmittedJob:
    """Write the job inside the caller's transaction (commit it, then call `started`)."""
    request = JobRequest(
        process=process,
        java_class=java_class(ctx),
        user_id=ctx.caller.user_id,
        account_id=owner.account_id,
        domain_id=owner.domain_id,
        resource_id=resource_id,
        resource_uuid=resource_uuid,
        http_method=ctx.http_method,
        params=raw_params(ctx),
        args=args,
    )
    return await submit(conn, engine_of(ctx).msid, request)


def started(ctx: CallContext, job: SubmittedJob, created_uuid: str | None = None) -> AsyncResult:
    """The answer of an accepted async command; create variants carry the new object's id."""
    engine_of(ctx).wake()
    return AsyncResult(jobid=job.uuid, id=created_uuid)
