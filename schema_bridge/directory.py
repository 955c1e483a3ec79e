"""Accounts and users as listAccounts/listUsers read them, with domain, role and stats."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import (
    account,
    account_details,
    data_center,
    domain,
    project_account,
    projects,
    roles,
    table,
    user,
    vm_instance,
)

SYSTEM_ACCOUNT_ID = 1
SYSTEM_USER_ID = 1
PROJECT_ACCOUNT_TYPE = 5
user_statistics = table("user_statistics")


@dataclass(frozen=True)
class AccountFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    state: str | None = None
    account_type: int | None = None
    cleanup_required: bool | None = None
    # None = any; True/False = that flag; "inherit" (NULL) is the string "inherit".
    api_key_access: bool | str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class UserFilter:
    ids: tuple[int, ...] = ()
    username: str | None = None
    keyword: str | None = None
    state: str | None = None
    account_type: int | None = None
    source: str | None = None
    api_key_access: bool | str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None


def _owner_columns() -> list[Any]:
    return [
        domain.c.uuid.label("domain_uuid"),
        domain.c.name.label("domain_name"),
        domain.c.path.label("domain_path"),
        roles.c.uuid.label("role_uuid"),
        roles.c.name.label("role_name"),
        roles.c.role_type.label("role_type"),
    ]


def _key_access(column: Any, wanted: bool | str) -> Any:
    return column.is_(None) if wanted == "inherit" else column == wanted


def _accounts_query(f: AccountFilter) -> Select[Any]:
    query = (
        select(account, data_center.c.uuid.label("default_zone_uuid"), *_owner_columns())
        .select_from(account.join(domain, domain.c.id == account.c.domain_id))
        .outerjoin(roles, roles.c.id == account.c.role_id)
        .outerjoin(data_center, data_center.c.id == account.c.default_zone_id)
        .where(
            account.c.removed.is_(None),
            account.c.id != SYSTEM_ACCOUNT_ID,
            account.c.type != PROJECT_ACCOUNT_TYPE,
        )
        .order_by(account.c.id)
    )
    if f.ids:
        query = query.where(account.c.id.in_(f.ids))
    if f.name is not None:
        query = query.where(account.c.account_name == f.name)
    if f.keyword:
        pattern = like_escape(f.keyword)
        query = query.where(
            or_(
                account.c.account_name.like(pattern, escape="\\"),
                account.c.state.like(pattern, escape="\\"),
            )
        )
    if f.state is not None:
        query = query.where(account.c.state == f.state)
    if f.account_type is not None:
        query = query.where(account.c.type == f.account_type)
    if f.cleanup_required is not None:
        query = query.where(account.c.cleanup_needed == f.cleanup_required)
    if f.api_key_access is not None:
        query = query.where(_key_access(account.c.api_key_access, f.api_key_access))
    return restrict(query, account.c.id, account.c.domain_id, f.account_ids, f.domain_ids)


async def accounts_page(
    conn: AsyncConnection, f: AccountFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _accounts_query(f), offset, limit)


def _users_query() -> Select[Any]:
    return (
        select(
            user,
            account.c.uuid.label("account_uuid"),
            account.c.account_name,
            account.c.type.label("account_type"),
            account.c.domain_id,
            *_owner_columns(),
        )
        .select_from(user.join(account, account.c.id == user.c.account_id))
        .join(domain, domain.c.id == account.c.domain_id)
        .outerjoin(roles, roles.c.id == account.c.role_id)
        .where(user.c.removed.is_(None), account.c.removed.is_(None))
        .order_by(user.c.id)
    )


def _user_keyword(keyword: str) -> Any:
    pattern = like_escape(keyword)
    columns = (
        user.c.username,
        user.c.firstname,
        user.c.lastname,
        user.c.email,
        user.c.state,
        account.c.account_name,
    )
    return or_(*(column.like(pattern, escape="\\") for column in columns))


def _filtered_users(f: UserFilter) -> Select[Any]:
    query = _users_query().where(user.c.id != SYSTEM_USER_ID)
    if f.ids:
        query = query.where(user.c.id.in_(f.ids))
    if f.username is not None:
        query = query.where(user.c.username == f.username)
    if f.keyword:
        query = query.where(_user_keyword(f.keyword))
    if f.state is not None:
        query = query.where(user.c.state == f.state)
    if f.account_type is not None:
        query = query.where(account.c.type == f.account_type)
    if f.source is not None:
        query = query.where(func.upper(user.c.source) == f.source.upper())
    if f.api_key_access is not None:
        query = query.where(_key_access(user.c.api_key_access, f.api_key_access))
    return restrict(query, account.c.id, account.c.domain_id, f.account_ids, f.domain_ids)


async def users_page(conn: AsyncConnection, f: UserFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _filtered_users(f), offset, limit)


async def users_of_accounts(
    conn: AsyncConnection, account_ids: Iterable[int]
) -> dict[int, list[Row[Any]]]:
    """The live users of each account, oldest first."""
    wanted = list(account_ids)
    out: dict[int, list[Row[Any]]] = {account_id: [] for account_id in wanted}
    if wanted:
        query = _users_query().where(user.c.account_id.in_(wanted))
        for row in (await conn.execute(query)).all():
            out[int(row.account_id)].append(row)
    return out


async def user_row(conn: AsyncConnection, user_id: int) -> Row[Any] | None:
    """One live user with its account, domain and role."""
    row: Row[Any] | None = (await conn.execute(_users_query().where(user.c.id == user_id))).first()
    return row


@dataclass(frozen=True)
class AccountStats:
    running: int = 0
    stopped: int = 0
    received: int | None = None
    sent: int | None = None


async def account_stats(
    conn: AsyncConnection, account_ids: Iterable[int]
) -> dict[int, AccountStats]:
    """Running/stopped user VMs and network byte totals per account."""
    wanted = list(account_ids)
    vms: dict[int, dict[str, int]] = {account_id: {} for account_id in wanted}
    if not wanted:
        return {}
    vm_query = (
        select(vm_instance.c.account_id, vm_instance.c.state, func.count())
        .where(
            vm_instance.c.account_id.in_(wanted),
            vm_instance.c.type == "User",
            vm_instance.c.removed.is_(None),
        )
        .group_by(vm_instance.c.account_id, vm_instance.c.state)
    )
    for account_id, state, count in (await conn.execute(vm_query)).all():
        vms[int(account_id)][str(state)] = int(count)
    stats = user_statistics.c
    net_query = (
        select(
            stats.account_id,
            func.sum(stats.net_bytes_received + stats.current_bytes_received),
            func.sum(stats.net_bytes_sent + stats.current_bytes_sent),
        )
        .where(stats.account_id.in_(wanted))
        .group_by(stats.account_id)
    )
    net = {int(a): (int(r), int(s)) for a, r, s in (await conn.execute(net_query)).all()}
    return {
        account_id: AccountStats(
            running=vms[account_id].get("Running", 0),
            stopped=vms[account_id].get("Stopped", 0),
            received=net[account_id][0] if account_id in net else None,
            sent=net[account_id][1] if account_id in net else None,
        )
        for account_id in wanted
    }


async def details_of_accounts(
    conn: AsyncConnection, account_ids: Iterable[int]
) -> dict[int, dict[str, str]]:
    wanted = list(account_ids)
    out: dict[int, dict[str, str]] = {account_id: {} for account_id in wanted}
    if wanted:
        query = (
            select(account_details.c.account_id, account_details.c.name, account_details.c.value)
            .where(account_details.c.account_id.in_(wanted))
            .order_by(account_details.c.id)
        )
        for account_id, name, value in (await conn.execute(query)).all():
            out[int(account_id)][str(name)] = str(value)
    return out


@dataclass(frozen=True)
class ProjectRef:
    id: int
    account_id: int
    domain_id: int
    domain_path: str


async def project_by_id(conn: AsyncConnection, project_id: int) -> ProjectRef | None:
    query = (
        select(projects.c.id, projects.c.project_account_id, projects.c.domain_id, domain.c.path)
        .select_from(projects.join(domain, domain.c.id == projects.c.domain_id))
        .where(projects.c.id == project_id, projects.c.removed.is_(None))
    )
    row = (await conn.execute(query)).first()
    return None if row is None else ProjectRef(*row)


async def project_accounts_of_member(conn: AsyncConnection, account_id: int) -> tuple[int, ...]:
    """The project accounts of every live project `account_id` belongs to."""
    query = (
        select(projects.c.project_account_id)
        .select_from(projects.join(project_account, project_account.c.project_id == projects.c.id))
        .where(project_account.c.account_id == account_id, projects.c.removed.is_(None))
    )
    return tuple(int(i) for i in (await conn.execute(query)).scalars())


async def project_accounts_in_domains(
    conn: AsyncConnection, domain_ids: tuple[int, ...] | None
) -> tuple[int, ...]:
    """The project accounts of every live project (in these domains, when given)."""
    query = select(projects.c.project_account_id).where(projects.c.removed.is_(None))
    if domain_ids is not None:
        query = query.where(projects.c.domain_id.in_(domain_ids))
    return tuple(int(i) for i in (await conn.execute(query)).scalars())


async def is_project_member(conn: AsyncConnection, project_id: int, account_id: int) -> bool:
    query = select(func.count()).where(
        project_account.c.project_id == project_id, project_account.c.account_id == account_id
    )
    return bool(await conn.scalar(query))


@dataclass(frozen=True)
class OwnerInfo:
    """An account (or project) or a domain as response objects name it."""

    domain_id: int
    domain_uuid: str
    domain_name: str
    domain_path: str
    account_id: int | None = None
    account_name: str | None = None
    account_type: int | None = None
    project_uuid: str | None = None
    project_name: str | None = None


async def account_owner(conn: AsyncConnection, account_id: int) -> OwnerInfo | None:
    """A live account with its domain (and project, for a project's account)."""
    query = (
        select(
            domain.c.id,
            domain.c.uuid,
            domain.c.name,
            domain.c.path,
            account.c.id,
            account.c.account_name,
            account.c.type,
            projects.c.uuid,
            projects.c.name,
        )
        .select_from(account.join(domain, domain.c.id == account.c.domain_id))
        .outerjoin(projects, projects.c.project_account_id == account.c.id)
        .where(account.c.id == account_id, account.c.removed.is_(None))
    )
    row = (await conn.execute(query)).first()
    return None if row is None else OwnerInfo(*row)


async def domain_owner(conn: AsyncConnection, domain_id: int) -> OwnerInfo | None:
    query = select(domain.c.id, domain.c.uuid, domain.c.name, domain.c.path).where(
        domain.c.id == domain_id, domain.c.removed.is_(None)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else OwnerInfo(*row)
