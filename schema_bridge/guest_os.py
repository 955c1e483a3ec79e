"""Guest OS types and their categories (`guest_os`, `guest_os_category`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import table

guest_os = table("guest_os")
guest_os_category = table("guest_os_category")


@dataclass(frozen=True)
class OsFilter:
    id: int | None = None
    category_id: int | None = None
    description: str | None = None
    for_display: bool | None = None
    keyword: str | None = None


def _query(f: OsFilter) -> Select[Any]:
    g = guest_os.c
    query = (
        select(
            g.id,
            g.uuid,
            g.name,
            g.display_name,
            g.is_user_defined,
            g.display,
            guest_os_category.c.uuid.label("category_uuid"),
            guest_os_category.c.name.label("category_name"),
        )
        .select_from(guest_os.outerjoin(guest_os_category, guest_os_category.c.id == g.category_id))
        .where(g.removed.is_(None))
        .order_by(g.id)
    )
    if f.id is not None:
        query = query.where(g.id == f.id)
    if f.category_id is not None:
        query = query.where(g.category_id == f.category_id)
    if f.description is not None:
        query = query.where(g.display_name.like(like_escape(f.description), escape="\\"))
    if f.keyword:
        query = query.where(g.display_name.like(like_escape(f.keyword), escape="\\"))
    if f.for_display is not None:
        query = query.where(g.display == f.for_display)
    return query


async def os_types(conn: AsyncConnection, f: OsFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)


@dataclass(frozen=True)
class CategoryFilter:
    id: int | None = None
    name: str | None = None
    keyword: str | None = None


def _category_query(f: CategoryFilter) -> Select[Any]:
    c = guest_os_category.c
    query = select(c.id, c.uuid, c.name).order_by(c.id)
    if f.id is not None:
        query = query.where(c.id == f.id)
    # Both match anywhere in the name, as the server's LIKE %...% search does.
    for text in (f.name, f.keyword):
        if text:
            query = query.where(c.name.like(like_escape(text), escape="\\"))
    return query


async def categories(
    conn: AsyncConnection, f: CategoryFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _category_query(f), offset, limit)
