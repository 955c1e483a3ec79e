"""Which owners a list may show: CloudStack's account/domain/listall/isrecursive rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compat_api import errors
from compat_api.caller import Caller
from compat_api.context import CallContext
from schema_bridge import accounts


@dataclass(frozen=True)
class Scope:
    """Rows must belong to one of `account_ids`, or sit in one of `domain_ids`; None = any."""

    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.account_ids is None and self.domain_ids is None


def _inside(path: str, caller: Caller) -> bool:
    return caller.is_root_admin or path.startswith(caller.domain_path)


async def owner_scope(ctx: CallContext, args: dict[str, Any]) -> Scope:
    """The owner filter for an account-scoped list, refusing what the caller may not see."""
    caller = ctx.caller
    if "account" in args and "projectid" in args:
        raise errors.invalid_parameter("Account and projectId can't be specified together")
    async with ctx.db.engine.connect() as conn:
        domain_id = args.get("domainid")
        path = caller.domain_path
        if isinstance(domain_id, int):
            found = await accounts.domain_path_of(conn, domain_id)
            if found is None:
                raise errors.invalid_parameter(f"Unable to find domain by id {domain_id}")
            if not _inside(found, caller) or (
                caller.role_type == "User" and domain_id != caller.domain_id
            ):
                raise errors.permission_denied(
                    f"Account {caller.account_name} does not have permission to operate "
                    f"within domain id={domain_id}"
                )
            path = found
        if "account" in args:
            return await _one_account(
                conn,
                caller,
                args["account"],
                domain_id if isinstance(domain_id, int) else caller.domain_id,
            )
        if caller.role_type == "User":
            return Scope(account_ids=(caller.account_id,))
        listall = bool(args.get("listall"))
        recursive = bool(args.get("isrecursive")) or listall or ("id" in args)
        if isinstance(domain_id, int):
            ids = await accounts.subtree_domain_ids(conn, path) if recursive else (domain_id,)
            return Scope(domain_ids=ids)
        if not (listall or "id" in args):
            return Scope(account_ids=(caller.account_id,))
        if caller.is_root_admin:
            return Scope()
        return Scope(domain_ids=await accounts.subtree_domain_ids(conn, caller.domain_path))


async def _one_account(conn: Any, caller: Caller, name: str, domain_id: int) -> Scope:
    found = await accounts.account_by_name(conn, name, domain_id)
    if found is None:
        raise errors.invalid_parameter(f"Unable to find account {name} in domain id={domain_id}")
    if caller.role_type == "User" and found.id != caller.account_id:
        raise errors.permission_denied()
    if not _inside(found.domain_path, caller):
        raise errors.permission_denied()
    return Scope(account_ids=(found.id,))
