"""`op_host_capacity` summed per capacity type, as listCapacity reports a zone, pod or cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import cluster, data_center, host_pod_ref, op_host_capacity


@dataclass(frozen=True)
class CapacityFilter:
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    capacity_type: int | None = None


async def summed(conn: AsyncConnection, f: CapacityFilter) -> list[Row[Any]]:
    """One row per (zone, pod, cluster level asked for, capacity type): used, reserved and
    total summed over the enabled capacity rows, with each cluster's id for over-commit."""
    cap = op_host_capacity.c
    level = [cap.data_center_id]
    if f.pod_id is not None:
        level.append(cap.pod_id)
    if f.cluster_id is not None:
        level.append(cap.cluster_id)
    query: Any = (
        select(
            *level,
            cap.capacity_type,
            cap.cluster_id.label("for_cluster"),
            func.sum(cap.used_capacity).label("used"),
            func.sum(cap.reserved_capacity).label("reserved"),
            func.sum(cap.total_capacity).label("total"),
        )
        .where(cap.capacity_state == "Enabled")
        .group_by(*level, cap.capacity_type, cap.cluster_id)
    )
    for column, wanted in (
        (cap.data_center_id, f.zone_id),
        (cap.pod_id, f.pod_id),
        (cap.cluster_id, f.cluster_id),
        (cap.capacity_type, f.capacity_type),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    return list((await conn.execute(query)).all())


async def names(
    conn: AsyncConnection, zone_ids: set[int], pod_ids: set[int], cluster_ids: set[int]
) -> dict[tuple[str, int], tuple[str, str]]:
    """(kind, id) → (uuid, name) for the zones, pods and clusters a summary names."""
    found: dict[tuple[str, int], tuple[str, str]] = {}
    for kind, tbl, ids in (
        ("zone", data_center, zone_ids),
        ("pod", host_pod_ref, pod_ids),
        ("cluster", cluster, cluster_ids),
    ):
        if not ids:
            continue
        rows = await conn.execute(select(tbl.c.id, tbl.c.uuid, tbl.c.name).where(tbl.c.id.in_(ids)))
        for row in rows:
            found[(kind, int(row.id))] = (row.uuid, row.name)
    return found
