"""Who a new resource belongs to: CloudStack's finalizeOwner for create commands.

`account` + `domainid` name another owner (admins, within their reach), `projectid` a
project the caller may use; with neither, the caller owns what it creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.caller import Caller
from compat_api.context import CallContext
from schema_bridge import accounts, directory


@dataclass(frozen=True)
class ResourceOwner:
    account_id: int
    domain_id: int
    account_name: str
    domain_path: str


def raw_param(ctx: CallContext, name: str) -> str:
    """The value as the client sent it (texts name uuids, never internal ids)."""
    return next((v for k, v in ctx.raw_params.items() if k.lower() == name), "")


def _can_reach(caller: Caller, path: str) -> bool:
    return caller.is_root_admin or (
        caller.role_type != "User" and path.startswith(caller.domain_path)
    )


async def _project_owner(ctx: CallContext, conn: AsyncConnection, project_id: int) -> ResourceOwner:
    caller = ctx.caller
    project = await directory.project_by_id(conn, project_id)
    if project is None:
        raise errors.invalid_parameter(
            f"Unable to find project by id={raw_param(ctx, 'projectid')}"
        )
    member = await directory.is_project_member(conn, project.id, caller.account_id)
    if not (member or _can_reach(caller, project.domain_path)):
        raise errors.permission_denied(
            f"Account {caller.account_name} is unauthorised to use project "
            f"id={raw_param(ctx, 'projectid')}"
        )
    found = await directory.account_owner(conn, project.account_id)
    if found is None or found.account_id is None:
        raise errors.invalid_parameter(
            f"Unable to find project by id={raw_param(ctx, 'projectid')}"
        )
    return ResourceOwner(
        found.account_id, found.domain_id, found.account_name or "", found.domain_path
    )


async def _named_owner(
    ctx: CallContext, conn: AsyncConnection, name: str, domain_id: int
) -> ResourceOwner:
    caller = ctx.caller
    if caller.role_type == "User":
        if name != caller.account_name or domain_id != caller.domain_id:
            raise errors.permission_denied(
                f"Can't create/list resources for account {name} in domain "
                f"{raw_param(ctx, 'domainid')}, permission denied"
            )
        return self_owner(caller)
    path = await accounts.domain_path_of(conn, domain_id)
    if path is None:
        raise errors.invalid_parameter(
            f"Unable to find the domain by id={raw_param(ctx, 'domainid')}"
        )
    found = await accounts.account_by_name(conn, name, domain_id)
    if found is None:
        raise errors.invalid_parameter(
            f"Unable to find account {name} in domain {raw_param(ctx, 'domainid')}"
        )
    if not _can_reach(caller, path):
        raise errors.permission_denied()
    return ResourceOwner(found.id, found.domain_id, found.name, found.domain_path)


def self_owner(caller: Caller) -> ResourceOwner:
    return ResourceOwner(
        caller.account_id, caller.domain_id, caller.account_name, caller.domain_path
    )


async def resource_owner(
    ctx: CallContext, conn: AsyncConnection, args: dict[str, Any]
) -> ResourceOwner:
    name, domain_id, project_id = args.get("account"), args.get("domainid"), args.get("projectid")
    if name is not None and domain_id is not None and project_id is not None:
        raise errors.invalid_parameter("ProjectId and account/domainId can't be specified together")
    if isinstance(project_id, int) and project_id != -1:
        return await _project_owner(ctx, conn, project_id)
    if (name is None) != (domain_id is None):
        raise errors.invalid_parameter("AccountName and domainId must be specified together")
    if name is not None and isinstance(domain_id, int):
        return await _named_owner(ctx, conn, str(name), domain_id)
    return self_owner(ctx.caller)
