"""Which hypervisor types a zone's clusters run, for listHypervisors."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import cluster


async def in_use(conn: AsyncConnection, zone_id: int | None) -> list[str]:
    """Types of the zone's clusters (every zone's when zone_id is None)."""
    query = (
        select(cluster.c.hypervisor_type)
        .where(cluster.c.removed.is_(None))
        .where(cluster.c.hypervisor_type.is_not(None))
        .distinct()
        .order_by(cluster.c.hypervisor_type)
    )
    if zone_id is not None:
        query = query.where(cluster.c.data_center_id == zone_id)
    return [str(value) for value in (await conn.execute(query)).scalars()]
