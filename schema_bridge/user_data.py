"""Registered user data (`user_data`): the cloud-init scripts VMs can be deployed with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.comments import annotated
from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import account, domain, projects, user_data

PROJECT_ACCOUNT_TYPE = 5


@dataclass(frozen=True)
class UserDataFilter:
    id: int | None = None
    name: str | None = None
    keyword: str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True
    # Whether admin-only annotations count towards `hasannotations` (root admins see them).
    admin_annotations: bool = False


def _query(f: UserDataFilter) -> Select[Any]:
    u = user_data.c
    query = (
        select(
            u.id,
            u.uuid,
            u.name,
            u.user_data,
            u.params,
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            domain.c.path.label("domain_path"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
            annotated(user_data.c.uuid, "USER_DATA", f.admin_annotations).label("has_annotations"),
        )
        .select_from(user_data.join(account, account.c.id == u.account_id))
        .join(domain, domain.c.id == u.domain_id)
        .outerjoin(projects, projects.c.project_account_id == u.account_id)
        .where(u.removed.is_(None))
        .order_by(u.id.desc())
    )
    if f.id is not None:
        query = query.where(u.id == f.id)
    if f.name is not None:
        query = query.where(u.name == f.name)
    if f.keyword:
        query = query.where(u.name.like(like_escape(f.keyword), escape="\\"))
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(query, u.account_id, u.domain_id, f.account_ids, f.domain_ids)


async def user_data_page(
    conn: AsyncConnection, f: UserDataFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)


async def id_by_uuid(conn: AsyncConnection, uuid: str) -> int | None:
    found = await conn.scalar(select(user_data.c.id).where(user_data.c.uuid == uuid))
    return None if found is None else int(found)
