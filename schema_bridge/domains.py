"""Domains as listDomains reads them: the tree, each domain's parent, and its resource counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import domain, resource_count

parent = domain.alias("parent_domain")


@dataclass(frozen=True)
class DomainFilter:
    domain_id: int | None = None
    # Every domain whose path starts so (a subtree); None = anywhere.
    path_prefix: str | None = None
    name: str | None = None
    keyword: str | None = None
    level: int | None = None


def _domains_query(f: DomainFilter) -> Select[Any]:
    query = (
        select(
            domain,
            parent.c.uuid.label("parent_uuid"),
            parent.c.name.label("parent_name"),
        )
        .select_from(domain.outerjoin(parent, parent.c.id == domain.c.parent))
        # Only Active domains are listed; removed ones are gone for the API.
        .where(domain.c.removed.is_(None), domain.c.state == "Active")
        .order_by(domain.c.id)
    )
    if f.domain_id is not None:
        query = query.where(domain.c.id == f.domain_id)
    if f.path_prefix is not None:
        query = query.where(domain.c.path.startswith(f.path_prefix, autoescape=True))
    if f.name is not None:
        query = query.where(domain.c.name == f.name)
    if f.keyword:
        query = query.where(domain.c.name.like(like_escape(f.keyword), escape="\\"))
    if f.level is not None:
        query = query.where(domain.c.level == f.level)
    return query


async def domains(conn: AsyncConnection, f: DomainFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _domains_query(f), offset, limit)


@dataclass(frozen=True)
class DomainRef:
    id: int
    uuid: str
    path: str


async def live_domain(conn: AsyncConnection, domain_id: int) -> DomainRef | None:
    """A domain that is neither removed nor inactive."""
    query = select(domain.c.id, domain.c.uuid, domain.c.path).where(
        domain.c.id == domain_id, domain.c.removed.is_(None)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else DomainRef(int(row[0]), str(row[1]), str(row[2]))


async def parents(conn: AsyncConnection) -> dict[int, int | None]:
    """Every live domain's parent, to walk limit inheritance without a query per level."""
    query = select(domain.c.id, domain.c.parent).where(domain.c.removed.is_(None))
    return {
        int(id_): None if parent_id is None else int(parent_id)
        for id_, parent_id in (await conn.execute(query)).all()
    }


async def domain_counts(
    conn: AsyncConnection, domain_ids: Iterable[int]
) -> dict[int, dict[str, int]]:
    """Untagged `resource_count` values: domain id → resource type → count."""
    wanted = sorted(set(domain_ids))
    out: dict[int, dict[str, int]] = {domain_id: {} for domain_id in wanted}
    if not wanted:
        return out
    query = select(resource_count.c.domain_id, resource_count.c.type, resource_count.c.count).where(
        resource_count.c.domain_id.in_(wanted), resource_count.c.tag.is_(None)
    )
    for domain_id, kind, count in (await conn.execute(query)).all():
        out[int(domain_id)][str(kind)] = int(count)
    return out
