"""Comments on resources (`annotations`), with their authors' names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import table, user

annotation_rows = table("annotations")


def annotated(entity_uuid: Any, entity_type: str, admin: bool) -> Any:
    """EXISTS a live comment on the row whose uuid is `entity_uuid` (a column), for a
    listing's `hasannotations`; admin-only comments count for root admins only."""
    found = exists().where(
        annotation_rows.c.entity_uuid == entity_uuid,
        annotation_rows.c.entity_type == entity_type,
        annotation_rows.c.removed.is_(None),
    )
    return found if admin else found.where(annotation_rows.c.admins_only.is_(False))


@dataclass(frozen=True)
class AnnotationFilter:
    uuid: str | None = None
    entity_type: str | None = None
    entity_uuid: str | None = None
    author_uuid: str | None = None
    keyword: str | None = None
    include_admins_only: bool = False


def _query(f: AnnotationFilter) -> Select[Any]:
    a = annotation_rows.c
    query = (
        select(
            a.uuid,
            a.annotation,
            a.entity_uuid,
            a.entity_type,
            a.user_uuid,
            a.created,
            a.removed,
            a.admins_only,
            user.c.username,
        )
        .select_from(annotation_rows.outerjoin(user, user.c.uuid == a.user_uuid))
        .where(a.removed.is_(None))
        .order_by(a.created.desc(), a.id.desc())
    )
    for column, wanted in (
        (a.uuid, f.uuid),
        (a.entity_type, f.entity_type),
        (a.entity_uuid, f.entity_uuid),
        (a.user_uuid, f.author_uuid),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.keyword:
        query = query.where(a.annotation.like(like_escape(f.keyword), escape="\\"))
    if not f.include_admins_only:
        query = query.where(a.admins_only.is_(False))
    return query


async def annotation_page(
    conn: AsyncConnection, f: AnnotationFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)
