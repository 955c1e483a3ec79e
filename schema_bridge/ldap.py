"""The `ldap_configuration` table: LDAP servers, global or for one domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import domain, table

ldap_configuration = table("ldap_configuration")


@dataclass(frozen=True)
class LdapFilter:
    hostname: str | None = None
    port: int | None = None
    keyword: str | None = None
    # None with every_domain False: the global servers only (domain_id IS NULL).
    domain_id: int | None = None
    every_domain: bool = False


def _query(f: LdapFilter) -> Select[Any]:
    c = ldap_configuration.c
    query = (
        select(c.id, c.hostname, c.port, domain.c.uuid.label("domain_uuid"))
        .select_from(ldap_configuration.outerjoin(domain, domain.c.id == c.domain_id))
        .order_by(c.id)
    )
    if f.hostname is not None:
        query = query.where(c.hostname == f.hostname)
    if f.port is not None:
        query = query.where(c.port == f.port)
    if f.keyword:
        query = query.where(c.hostname.like(like_escape(f.keyword), escape="\\"))
    if not f.every_domain:
        query = query.where(
            c.domain_id.is_(None) if f.domain_id is None else c.domain_id == f.domain_id
        )
    return query


async def configurations(
    conn: AsyncConnection, f: LdapFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)
