"""listResourceLimits: the limits that apply to an account, a project or a domain.

An owner without an explicit `resource_limit` row gets the configured default, shown as the
value that applies (-1 for unlimited), as CloudStack lists it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.caller import Caller
from compat_api.commands.accounts import (
    ROOT_ADMIN_TYPE,
    account_in_reach,
    can_reach,
    is_normal_user,
    load_defaults,
    reachable_domain,
)
from compat_api.context import CallContext
from compat_api.listing import page_of
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses import resourcelimit
from schema_bridge import accounts, directory
from schema_bridge import limits as limit_rows

ROOT_DOMAIN_ID = 1


def _wanted_type(args: dict[str, Any]) -> resourcelimit.ResourceType | None:
    if args.get("resourcetype") is not None:
        kind = resourcelimit.BY_ORDINAL.get(args["resourcetype"])
        if kind is None:
            raise errors.invalid_parameter("Please specify valid resource type")
        return kind
    if args.get("resourcetypename") is not None:
        kind = resourcelimit.BY_NAME.get(args["resourcetypename"])
        if kind is None:
            raise errors.invalid_parameter("Please specify valid resource type name")
        return kind
    return None


async def _named_owner(conn: AsyncConnection, args: dict[str, Any]) -> int | None:
    """The account behind `account`+`domainid` or `projectid`, as finalyzeAccountId finds it."""
    if "account" in args:
        domain_id = args.get("domainid")
        if domain_id is None:
            raise errors.invalid_parameter("Account must be specified with domainId parameter")
        if await directory.domain_owner(conn, domain_id) is None:
            raise errors.invalid_parameter("Unable to find domain by id")
        found = await accounts.account_by_name(conn, args["account"], domain_id)
        if found is None:
            raise errors.invalid_parameter(
                f"Unable to find account by name {args['account']} in domain with specified id"
            )
        return found.id
    if args.get("projectid") is not None:
        project = await directory.project_by_id(conn, args["projectid"])
        if project is None:
            raise errors.invalid_parameter("Unable to find project by id")
        return project.account_id
    return None


async def _limit_owner(
    conn: AsyncConnection, caller: Caller, args: dict[str, Any]
) -> directory.OwnerInfo:
    account_id = await _named_owner(conn, args)
    domain_id = args.get("domainid")
    if is_normal_user(caller):
        account_id, domain_id = caller.account_id, None
    elif domain_id is not None:
        await reachable_domain(conn, caller, domain_id)
    if account_id is not None or domain_id is None:
        owner = await directory.account_owner(conn, account_id or caller.account_id)
    else:
        owner = await directory.domain_owner(conn, domain_id)
    if owner is None or not can_reach(caller, owner.domain_path):
        raise errors.permission_denied()
    return owner


async def _effective_limits(
    conn: AsyncConnection,
    owner: directory.OwnerInfo,
    kind: resourcelimit.ResourceType | None,
    tag: str | None,
) -> list[tuple[resourcelimit.ResourceType, int, str | None]]:
    """Explicit rows first, then the applicable default for every type without one."""
    if owner.account_id is not None:
        rows = await limit_rows.account_limits(conn, [owner.account_id], tag)
    else:
        rows = await limit_rows.domain_limits(conn, [owner.domain_id], tag)
    found = [
        (resourcelimit.BY_NAME[r.type], r.max, r.tag)
        for r in rows
        if r.type in resourcelimit.BY_NAME and (kind is None or r.type == kind.name)
    ]
    if tag is not None:
        return found
    have = {k.name for k, _, _ in found}
    missing = [t for t in resourcelimit.TYPES if t.name not in have and kind in (None, t)]
    defaults = await load_defaults(conn)
    chain = await _domain_chain(conn, owner) if owner.account_id is None else []
    for t in missing:
        if owner.account_id is not None:
            value = resourcelimit.account_limit(
                None,
                t,
                root_admin=owner.account_type == ROOT_ADMIN_TYPE,
                project=owner.account_type == directory.PROJECT_ACCOUNT_TYPE,
                defaults=defaults,
            )
        else:
            value = resourcelimit.domain_limit(
                chain, t, is_root=owner.domain_id == ROOT_DOMAIN_ID, defaults=defaults
            )
        found.append((t, value, None))
    return found


async def _domain_chain(conn: AsyncConnection, owner: directory.OwnerInfo) -> list[dict[str, int]]:
    """Explicit limits of the domain's ancestors below ROOT, nearest first."""
    parents = await limit_rows.domain_parents(conn, owner.domain_id)
    chain = [d for d in parents if d != ROOT_DOMAIN_ID]
    rows = await limit_rows.domain_limits(conn, chain)
    by_domain: dict[int, dict[str, int]] = {d: {} for d in chain}
    for row in rows:
        by_domain[int(row.domain_id or 0)][row.type] = row.max
    return [by_domain[d] for d in chain]


def _limit_presenter(owner: directory.OwnerInfo) -> resourcelimit.Owner:
    project = owner.account_type == directory.PROJECT_ACCOUNT_TYPE
    return resourcelimit.Owner(
        domain_uuid=owner.domain_uuid,
        domain_name=owner.domain_name,
        domain_path=owner.domain_path,
        account_name=None if project else owner.account_name,
        project_uuid=owner.project_uuid if project else None,
        project_name=owner.project_name if project else None,
    )


async def _limit_by_id(
    conn: AsyncConnection, caller: Caller, limit_id: int
) -> list[tuple[directory.OwnerInfo, resourcelimit.ResourceType, int, str | None]]:
    row = await limit_rows.limit_by_id(conn, limit_id)
    if row is None or row.type not in resourcelimit.BY_NAME:
        return []
    if row.account_id is not None:
        await account_in_reach(conn, caller, row.account_id)
        owner = await directory.account_owner(conn, row.account_id)
    else:
        await reachable_domain(conn, caller, int(row.domain_id or 0))
        owner = await directory.domain_owner(conn, int(row.domain_id or 0))
    assert owner is not None
    return [(owner, resourcelimit.BY_NAME[row.type], row.max, row.tag)]


async def list_resource_limits(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    kind = _wanted_type(args)
    async with ctx.db.engine.connect() as conn:
        if args.get("id") is not None:
            found = await _limit_by_id(conn, ctx.caller, args["id"])
        else:
            owner = await _limit_owner(conn, ctx.caller, args)
            limits = await _effective_limits(conn, owner, kind, args.get("tag"))
            found = [(owner, k, value, tag) for k, value, tag in limits]
    items = [resourcelimit.present(_limit_presenter(o), k, v, t) for o, k, v, t in found]
    end = None if paging.limit is None else paging.offset + paging.limit
    return ListResult(items[paging.offset : end], len(items), "resourcelimit")


COMMANDS: list[Command] = [
    declare(
        "listResourceLimits",
        subsystem="account",
        handler=list_resource_limits,
        summary="Effective resource limits of an account, project or domain (-1 = none).",
    ),
]
