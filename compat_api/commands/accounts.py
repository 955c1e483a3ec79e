"""Identity reads and API keys: listAccounts, listUsers, getUserKeys, registerUserKeys.

Also `list_scope`, the owner filter (projects included) the account-owned lists share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors, logs, shapes
from compat_api.auth import api_key_allowed
from compat_api.caller import Caller
from compat_api.context import CallContext
from compat_api.listing import empty, listed, page_of
from compat_api.registry import Command, declare
from compat_api.render import ObjectResult, Result
from compat_api.responses import account, resourcelimit, user
from compat_api.scope import Scope, owner_scope
from schema_bridge import accounts, directory, encryption, events
from schema_bridge import limits as limit_rows
from schema_bridge.accounts import UserRecord
from schema_bridge.dialect import utc_now
from schema_bridge.seed_identity import new_api_key

GET_KEYS = shapes.of("getUserKeys")
REGISTER_KEYS = shapes.of("registerUserKeys")
DETAIL_VALUES = ("all", "resource", "min")
ROOT_ADMIN_TYPE = 1
SYSTEM_USER_ID = 1


@dataclass(frozen=True)
class ListScope:
    """Owners a list may show; project-owned rows only when a project was asked for."""

    scope: Scope
    exclude_projects: bool = True


def is_normal_user(caller: Caller) -> bool:
    return caller.role_type == "User"


def can_reach(caller: Caller, domain_path: str) -> bool:
    """Root admins reach every domain, other admins their subtree."""
    return caller.is_root_admin or domain_path.startswith(caller.domain_path)


async def list_scope(ctx: CallContext, args: dict[str, Any]) -> ListScope:
    """CloudStack's owner rules for account-owned lists, with `projectid` (or -1 for all)."""
    project_id = args.get("projectid")
    if project_id is None:
        return ListScope(await owner_scope(ctx, args))
    if "account" in args:
        raise errors.invalid_parameter("Account and projectId can't be specified together")
    caller = ctx.caller
    async with ctx.db.engine.connect() as conn:
        if project_id == -1:
            return ListScope(Scope(account_ids=await _member_projects(conn, caller, args)), False)
        project = await directory.project_by_id(conn, project_id)
        if project is None:
            raise errors.invalid_parameter(f"Unable to find project by id {project_id}")
        allowed = (
            can_reach(caller, project.domain_path)
            if not is_normal_user(caller)
            else await directory.is_project_member(conn, project.id, caller.account_id)
        )
    if not allowed:
        raise errors.permission_denied(
            f"Account {caller.account_name} can't access project id={project_id}"
        )
    return ListScope(Scope(account_ids=(project.account_id,)), False)


async def _member_projects(
    conn: AsyncConnection, caller: Caller, args: dict[str, Any]
) -> tuple[int, ...]:
    if is_normal_user(caller) or not args.get("listall"):
        return await directory.project_accounts_of_member(conn, caller.account_id)
    if caller.is_root_admin:
        return await directory.project_accounts_in_domains(conn, None)
    subtree = await accounts.subtree_domain_ids(conn, caller.domain_path)
    return await directory.project_accounts_in_domains(conn, subtree)


# --- listAccounts -----------------------------------------------------------------------


def _details(args: dict[str, Any]) -> set[str]:
    wanted = args.get("details") or ["all"]
    if any(item not in DETAIL_VALUES for item in wanted):
        raise errors.invalid_parameter(
            "The details parameter contains a non permitted value. The allowed values are "
            "[all, resource, min]"
        )
    return set(wanted)


async def reachable_domain(conn: AsyncConnection, caller: Caller, domain_id: int) -> str:
    """The path of a domain the caller may look into; refuses the others."""
    found = await directory.domain_owner(conn, domain_id)
    if found is None:
        raise errors.invalid_parameter(f"Domain id={domain_id} doesn't exist")
    same = found.domain_id == caller.domain_id
    if (is_normal_user(caller) and not same) or not can_reach(caller, found.domain_path):
        raise errors.permission_denied(
            f"Account {caller.account_name} does not have permission to operate within "
            f"domain id={found.domain_uuid}"
        )
    return found.domain_path


async def account_in_reach(conn: AsyncConnection, caller: Caller, account_id: int) -> None:
    found = await directory.account_owner(conn, account_id)
    if found is None or account_id == directory.SYSTEM_ACCOUNT_ID:
        raise errors.invalid_parameter(f"Unable to find account by id {account_id}")
    mine = account_id == caller.account_id
    if (is_normal_user(caller) and not mine) or not can_reach(caller, found.domain_path):
        raise errors.permission_denied()


async def _account_scope(conn: AsyncConnection, caller: Caller, args: dict[str, Any]) -> Scope:
    """searchForAccounts' rules: own account unless an admin asks for a domain or listall."""
    domain_id = args.get("domainid")
    path = await reachable_domain(conn, caller, domain_id) if domain_id is not None else None
    recursive = bool(args.get("isrecursive"))
    if "id" in args:
        await account_in_reach(conn, caller, args["id"])
    elif args.get("listall") and not is_normal_user(caller):
        path = path or caller.domain_path
        recursive = True
    elif is_normal_user(caller) or domain_id is None:
        return Scope(account_ids=(caller.account_id,))
    if path is None:
        return Scope()
    if recursive:
        return Scope(domain_ids=await accounts.subtree_domain_ids(conn, path))
    return Scope(domain_ids=(domain_id if domain_id is not None else caller.domain_id,))


def _key_access_filter(caller: Caller, args: dict[str, Any]) -> bool | str | None:
    """The admin-only apikeyaccess filter; other callers' values are ignored, as upstream."""
    value = str(args.get("apikeyaccess") or "").lower()
    if not caller.is_root_admin or value not in ("enabled", "disabled", "inherit"):
        return None
    return "inherit" if value == "inherit" else value == "enabled"


async def load_defaults(conn: AsyncConnection) -> resourcelimit.Defaults:
    names = resourcelimit.setting_names()
    return resourcelimit.Defaults(await limit_rows.defaults(conn, names))


async def _account_extras(
    conn: AsyncConnection, rows: Sequence[Row[Any]], with_limits: bool
) -> dict[int, account.AccountExtras]:
    ids = [int(row.id) for row in rows]
    users = await directory.users_of_accounts(conn, ids)
    stats = await directory.account_stats(conn, ids)
    details = await directory.details_of_accounts(conn, ids)
    explicit: dict[int, dict[str, int]] = {i: {} for i in ids}
    counts = await limit_rows.account_counts(conn, ids) if with_limits else {}
    for row in await limit_rows.account_limits(conn, ids) if with_limits else []:
        explicit[int(row.account_id or 0)][row.type] = row.max
    return {
        i: account.AccountExtras(explicit[i], counts.get(i, {}), stats[i], details[i], users[i])
        for i in ids
    }


async def list_accounts(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    caller = ctx.caller
    with_limits = bool(_details(args) & {"all", "resource"})
    async with ctx.db.engine.connect() as conn:
        scope = await _account_scope(conn, caller, args)
        filters = directory.AccountFilter(
            ids=(args["id"],) if "id" in args else (),
            name=args.get("name"),
            keyword=args.get("keyword"),
            state=args.get("state"),
            account_type=args.get("accounttype"),
            cleanup_required=args.get("iscleanuprequired"),
            api_key_access=_key_access_filter(caller, args),
            account_ids=scope.account_ids,
            domain_ids=scope.domain_ids,
        )
        page = await directory.accounts_page(conn, filters, paging.offset, paging.limit)
        extras = await _account_extras(conn, page.rows, with_limits)
        defaults = await load_defaults(conn) if with_limits else None
    full = caller.is_root_admin
    return listed(
        ctx, page, lambda row: account.present(row, extras[row.id], defaults, full_view=full)
    )


# --- listUsers --------------------------------------------------------------------------


async def list_users(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    caller = ctx.caller
    user_id = args.get("id")
    if is_normal_user(caller):
        # A plain user sees only itself, and asking for anyone else is refused.
        if user_id is not None and user_id != caller.user_id:
            raise errors.permission_denied(
                "Calling user is not authorized to see the user requested by id"
            )
        user_id = caller.user_id
    if user_id == SYSTEM_USER_ID:
        return empty(ctx)
    scope = await owner_scope(ctx, args)
    filters = directory.UserFilter(
        ids=(user_id,) if user_id is not None else (),
        username=args.get("username"),
        keyword=args.get("keyword"),
        state=args.get("state"),
        account_type=args.get("accounttype"),
        source=args.get("usersource"),
        api_key_access=_key_access_filter(caller, args),
        account_ids=scope.account_ids,
        domain_ids=scope.domain_ids,
    )
    async with ctx.db.engine.connect() as conn:
        page = await directory.users_page(conn, filters, paging.offset, paging.limit)
    full = caller.is_root_admin
    return listed(
        ctx, page, lambda row: user.present(row, caller_domain_id=caller.domain_id, full=full)
    )


# --- getUserKeys / registerUserKeys -----------------------------------------------------


def _check_key_access(caller: Caller, target: UserRecord) -> None:
    """Users reach their own keys, admins those of users in their subtree, never a root
    admin's unless they are one."""
    if caller.is_root_admin:
        return
    if target.account_type == ROOT_ADMIN_TYPE:
        raise errors.permission_denied()
    if is_normal_user(caller):
        if target.user_id != caller.user_id:
            raise errors.permission_denied()
        return
    if not target.domain_path.startswith(caller.domain_path):
        raise errors.permission_denied()


async def _target_user(ctx: CallContext, user_id: int | None) -> UserRecord:
    """`user_id` is None when the id given was not a uuid (CloudStack then ignores it)."""
    target = None
    if user_id is not None:
        async with ctx.db.engine.connect() as conn:
            target = await accounts.user_by_id(conn, user_id)
    if target is None:
        raise errors.invalid_parameter("Unable to find user by id")
    _check_key_access(ctx.caller, target)
    return target


def _encryption_key(ctx: CallContext) -> str | None:
    return ctx.settings.encryption_key if ctx.settings is not None else None


async def get_user_keys(ctx: CallContext, args: dict[str, Any]) -> Result:
    target = await _target_user(ctx, args.get("id"))
    secret = None
    if target.secret_key:
        try:
            secret = encryption.decrypt(target.secret_key, _encryption_key(ctx))
        except encryption.DecryptionError:
            logs.ERRORS.error(
                logs.line(
                    error="secret key cannot be decrypted; check the configured encryption key",
                    user=target.user_uuid,
                )
            )
            raise errors.ApiError(
                errors.INTERNAL_ERROR, errors.INTERNAL_TEXT, errors.CS_CLOUD_RUNTIME
            ) from None
    values = {
        "apikey": target.api_key,
        "secretkey": secret,
        "apikeyaccess": api_key_allowed(target, ctx.config),
    }
    return ObjectResult(GET_KEYS.build(values), "userkeys")


async def register_user_keys(ctx: CallContext, args: dict[str, Any]) -> Result:
    user_id = args.get("id")
    if user_id == SYSTEM_USER_ID:
        raise errors.permission_denied(
            f"user id : {SYSTEM_USER_ID} is system account, update is not allowed"
        )
    target = await _target_user(ctx, user_id)
    api_key, secret_key = new_api_key(), new_api_key()
    caller = ctx.caller
    async with ctx.db.engine.begin() as conn:
        stored = encryption.encrypt(secret_key, _encryption_key(ctx))
        await accounts.set_api_keys(conn, target.user_id, api_key, stored)
        await events.record(
            conn,
            events.NewEvent(
                type="REGISTER.USER.KEY",
                description="Successfully completed register for the developer API keys",
                user_id=caller.user_id,
                account_id=caller.account_id,
                domain_id=caller.domain_id,
                created=utc_now(),
                resource_id=target.user_id,
                resource_type="User",
            ),
        )
    values = {"apikey": api_key, "secretkey": secret_key}
    return ObjectResult(REGISTER_KEYS.build(values), "userkeys")


COMMANDS: list[Command] = [
    declare(
        "listAccounts",
        subsystem="account",
        handler=list_accounts,
        summary="Accounts the caller may see, with their users, limits and usage counts.",
    ),
    declare(
        "listUsers",
        subsystem="account",
        handler=list_users,
        summary="Users the caller may see; a plain user sees only itself. No secret keys.",
    ),
    declare(
        "getUserKeys",
        subsystem="account",
        handler=get_user_keys,
        summary="The API key and secret key of the caller, or of a user an admin manages.",
    ),
    declare(
        "registerUserKeys",
        subsystem="account",
        handler=register_user_keys,
        summary="Issues a new API key and secret key pair for a user, replacing the old.",
    ),
]
