"""System alerts (`alert`) that are not archived, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import alert


@dataclass(frozen=True)
class AlertFilter:
    id: int | None = None
    type: int | None = None
    name: str | None = None
    keyword: str | None = None
    # A type that is not a number matches nothing.
    impossible: bool = False


def _query(f: AlertFilter) -> Select[Any]:
    a = alert.c
    query = (
        select(a.uuid, a.type, a.name, a.subject, a.last_sent)
        .where(a.archived.is_(False))
        .order_by(a.last_sent.desc(), a.id.desc())
    )
    for column, wanted in ((a.id, f.id), (a.type, f.type), (a.name, f.name)):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.keyword:
        query = query.where(a.subject.like(like_escape(f.keyword), escape="\\"))
    if f.impossible:
        query = query.where(false())
    return query


async def alerts(conn: AsyncConnection, f: AlertFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)
