"""queryAsyncJobResult and listAsyncJobs over `async_job` rows in CloudStack's format."""

from __future__ import annotations

import json
from typing import Any

from compat_api import errors
from compat_api.caller import ACCOUNT_DOMAIN_ADMIN, ACCOUNT_USER, Caller
from compat_api.context import CallContext
from compat_api.listing import page_of
from compat_api.registry import Command, declare
from compat_api.render import FlatResult, ListResult, Result
from compat_api.responses import job
from compat_api.scope import owner_scope
from schema_bridge import jobs


def account_text(caller: Caller) -> str:
    """AccountVO.toString(): its id, name, domain id and uuid as a JSON-style dump."""
    fields = {
        "id": caller.account_id,
        "accountName": caller.account_name,
        "domainId": caller.domain_id,
        "uuid": caller.account_uuid,
    }
    return "Account " + json.dumps(fields, separators=(",", ":"))


def _check_access(caller: Caller, row: Any) -> None:
    """Users see their own account's jobs, domain admins their domain tree's, admins all."""
    if caller.account_type == ACCOUNT_USER and caller.account_id != row.account_id:
        raise errors.permission_denied(
            f"Account {account_text(caller)} is not authorized to see job id={row.id}"
        )
    inside = str(row.domain_path).startswith(caller.domain_path)
    if caller.account_type == ACCOUNT_DOMAIN_ADMIN and not inside:
        raise errors.permission_denied(
            f"Account {account_text(caller)} does not have permission to operate within "
            f"domain id={row.domain_uuid}"
        )


async def query_async_job_result(ctx: CallContext, args: dict[str, Any]) -> Result:
    job_id = args.get("jobid")
    if job_id is None:
        # A jobid that is neither a uuid nor a number is dropped while parsing.
        raise errors.missing_param(ctx.command.name, "jobid")
    async with ctx.db.engine.connect() as conn:
        row = await jobs.job_by_id(conn, job_id) if isinstance(job_id, int) else None
        if row is None:
            raise errors.invalid_parameter(f"Unable to find a job by id {job_id}")
        _check_access(ctx.caller, row)
        uuids = await jobs.instance_uuids(conn, [row])
    instance = uuids.get((row.instance_type, row.instance_id or 0))
    return FlatResult(job.present(row, instance))


async def list_async_jobs(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    scope = await owner_scope(ctx, args)
    msid = args.get("managementserverid")
    filters = jobs.JobFilter(
        keyword=args.get("keyword"),
        start_date=args.get("startdate"),
        msid=msid if isinstance(msid, int) else None,
        account_ids=scope.account_ids,
        domain_ids=scope.domain_ids,
    )
    async with ctx.db.engine.connect() as conn:
        rows, total = await jobs.job_page(conn, filters, paging.offset, paging.limit)
        uuids = await jobs.instance_uuids(conn, rows)
    items = [
        job.present_item(row, uuids.get((row.instance_type, row.instance_id or 0))) for row in rows
    ]
    return ListResult(items, total, "asyncjobs")


COMMANDS: list[Command] = [
    declare(
        "queryAsyncJobResult",
        subsystem="job",
        handler=query_async_job_result,
        summary="Status and result of one asynchronous job of the caller's scope.",
    ),
    declare(
        "listAsyncJobs",
        subsystem="job",
        handler=list_async_jobs,
        summary="Asynchronous jobs of the caller's scope that have not finished yet.",
    ),
]
