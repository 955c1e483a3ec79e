"""Instance groups and affinity groups, as their list commands read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import (
    account,
    affinity_group,
    affinity_group_vm_map,
    domain,
    instance_group,
    projects,
    vm_instance,
)

PROJECT_ACCOUNT_TYPE = 5


@dataclass(frozen=True)
class GroupFilter:
    id: int | None = None
    name: str | None = None
    keyword: str | None = None
    type: str | None = None
    vm_id: int | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True


def _owner_columns() -> tuple[Any, ...]:
    return (
        account.c.account_name,
        account.c.type.label("account_type"),
        domain.c.uuid.label("domain_uuid"),
        domain.c.name.label("domain_name"),
        domain.c.path.label("domain_path"),
        projects.c.uuid.label("project_uuid"),
        projects.c.name.label("project_name"),
    )


def _instance_groups_query(f: GroupFilter) -> Select[Any]:
    g = instance_group.c
    query = (
        select(g.id, g.uuid, g.name, g.created, g.account_id, *_owner_columns())
        .select_from(instance_group.join(account, account.c.id == g.account_id))
        .join(domain, domain.c.id == account.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == g.account_id)
        .where(g.removed.is_(None))
        .order_by(g.id)
    )
    if f.id is not None:
        query = query.where(g.id == f.id)
    if f.name is not None:
        query = query.where(g.name == f.name)
    if f.keyword:
        query = query.where(g.name.like(like_escape(f.keyword), escape="\\"))
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(query, g.account_id, account.c.domain_id, f.account_ids, f.domain_ids)


async def instance_groups(
    conn: AsyncConnection, f: GroupFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _instance_groups_query(f), offset, limit)


def _affinity_groups_query(f: GroupFilter) -> Select[Any]:
    a = affinity_group.c
    query = (
        select(a.id, a.uuid, a.name, a.type, a.description, a.account_id, *_owner_columns())
        .select_from(affinity_group.join(account, account.c.id == a.account_id))
        .join(domain, domain.c.id == a.domain_id)
        .outerjoin(projects, projects.c.project_account_id == a.account_id)
        .order_by(a.id)
    )
    for column, wanted in ((a.id, f.id), (a.name, f.name), (a.type, f.type)):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.keyword:
        query = query.where(a.name.like(like_escape(f.keyword), escape="\\"))
    if f.vm_id is not None:
        members = select(affinity_group_vm_map.c.affinity_group_id).where(
            affinity_group_vm_map.c.instance_id == f.vm_id
        )
        query = query.where(a.id.in_(members))
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(query, a.account_id, a.domain_id, f.account_ids, f.domain_ids)


async def affinity_groups(
    conn: AsyncConnection, f: GroupFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _affinity_groups_query(f), offset, limit)


async def affinity_members(conn: AsyncConnection, group_ids: list[int]) -> dict[int, list[str]]:
    """Each group's live member VMs, by uuid."""
    found: dict[int, list[str]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return found
    m = affinity_group_vm_map.c
    rows = await conn.execute(
        select(m.affinity_group_id, vm_instance.c.uuid)
        .join(vm_instance, vm_instance.c.id == m.instance_id)
        .where(m.affinity_group_id.in_(group_ids), vm_instance.c.removed.is_(None))
        .order_by(m.id)
    )
    for row in rows:
        found[int(row.affinity_group_id)].append(row.uuid)
    return found
