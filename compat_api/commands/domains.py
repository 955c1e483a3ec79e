"""listDomains: the domain tree below the caller, with resource limits and usage."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.caller import Caller
from compat_api.context import CallContext
from compat_api.listing import empty, listed, page_of
from compat_api.registry import ADMIN, DOMAIN_ADMIN, RESOURCE_ADMIN, Command, declare
from compat_api.render import Result
from compat_api.responses import domain, resourcelimit
from schema_bridge import domains, limits
from schema_bridge.paging import Page


def _views(args: dict[str, Any]) -> frozenset[str]:
    wanted = args.get("details") or ["all"]
    if any(view not in domain.DETAIL_VIEWS for view in wanted):
        allowed = ", ".join(domain.DETAIL_VIEWS)
        raise errors.invalid_parameter(
            "The details parameter contains a non permitted value. The allowed values are "
            f"[{allowed}]"
        )
    return frozenset(wanted)


async def _filter(
    conn: AsyncConnection, caller: Caller, args: dict[str, Any]
) -> domains.DomainFilter:
    """One domain when `id` is given (the caller must reach it); otherwise root admins see
    every domain and others their own domain, or their whole subtree with `listall`."""
    common: dict[str, Any] = {
        "name": args.get("name"),
        "keyword": args.get("keyword"),
        "level": args.get("level"),
    }
    domain_id = args.get("id")
    if isinstance(domain_id, int):
        found = await domains.live_domain(conn, domain_id)
        if found is None:
            raise errors.invalid_parameter(f"Domain id={domain_id} doesn't exist")
        reachable = found.path.startswith(caller.domain_path)
        if caller.role_type == "User":
            reachable = found.id == caller.domain_id
        if not (caller.is_root_admin or reachable):
            raise errors.permission_denied(
                f"Account {caller.account_name} does not have permission to operate within "
                f"domain id={found.uuid}"
            )
        return domains.DomainFilter(domain_id=domain_id, **common)
    if caller.is_root_admin:
        return domains.DomainFilter(**common)
    if args.get("listall"):
        return domains.DomainFilter(path_prefix=caller.domain_path, **common)
    return domains.DomainFilter(domain_id=caller.domain_id, **common)


def _chain(domain_id: int, parents: dict[int, int | None]) -> list[int]:
    """The domain and its ancestors below ROOT, nearest first (ROOT is never limited)."""
    chain: list[int] = []
    current: int | None = domain_id
    while current is not None and current != domain.ROOT_DOMAIN_ID and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


async def _usage(conn: AsyncConnection, page: Page, full: bool) -> dict[int, dict[str, Any]]:
    parents = await domains.parents(conn)
    chains = {int(row.id): _chain(int(row.id), parents) for row in page.rows}
    explicit: dict[int, dict[str, int]] = {}
    wanted = {i for chain in chains.values() for i in chain}
    for limit in await limits.domain_limits(conn, wanted):
        if limit.domain_id is not None:
            explicit.setdefault(int(limit.domain_id), {})[limit.type] = limit.max
    defaults = resourcelimit.Defaults(await limits.defaults(conn, resourcelimit.setting_names()))
    counts = await domains.domain_counts(conn, chains)
    return {
        row.id: domain.usage_values(
            row, [explicit.get(i, {}) for i in chains[row.id]], counts[row.id], defaults, full
        )
        for row in page.rows
    }


async def list_domains(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    views = _views(args)
    if args.get("id") == -1:
        return empty(ctx)
    async with ctx.db.engine.connect() as conn:
        filters = await _filter(conn, ctx.caller, args)
        page = await domains.domains(conn, filters, paging.offset, paging.limit)
        usage = None
        if views & {"all", "resource"}:
            usage = await _usage(conn, page, ctx.caller.is_root_admin)
    return listed(ctx, page, lambda row: domain.present(row, usage[row.id] if usage else None))


COMMANDS: list[Command] = [
    declare(
        "listDomains",
        subsystem="account",
        handler=list_domains,
        roles=(ADMIN, DOMAIN_ADMIN, RESOURCE_ADMIN),
        summary="Domains in the caller's subtree with their resource limits and usage.",
    ),
]
