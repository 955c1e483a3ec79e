"""Network service providers of the physical networks (`physical_network_service_providers`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import physical_network_service_providers, table

physical_network = table("physical_network")
destination = physical_network.alias("destination")


@dataclass(frozen=True)
class ProviderFilter:
    physical_network_id: int | None = None
    name: str | None = None
    state: str | None = None
    keyword: str | None = None


def _query(f: ProviderFilter) -> Select[Any]:
    p = physical_network_service_providers.c
    query = (
        select(
            physical_network_service_providers,
            physical_network.c.uuid.label("network_uuid"),
            destination.c.uuid.label("destination_uuid"),
        )
        .select_from(
            physical_network_service_providers.join(
                physical_network, physical_network.c.id == p.physical_network_id
            ).outerjoin(destination, destination.c.id == p.destination_physical_network_id)
        )
        .where(p.removed.is_(None))
        .order_by(p.id)
    )
    if f.physical_network_id is not None:
        query = query.where(p.physical_network_id == f.physical_network_id)
    if f.name is not None:
        query = query.where(p.provider_name == f.name)
    if f.state is not None:
        query = query.where(p.state == f.state)
    if f.keyword:
        query = query.where(p.provider_name.like(like_escape(f.keyword), escape="\\"))
    return query


async def providers(
    conn: AsyncConnection, f: ProviderFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)
