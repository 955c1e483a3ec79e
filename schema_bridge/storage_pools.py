"""Primary storage pools as listStoragePools reads them, with their allocation and tags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    cluster,
    data_center,
    host_pod_ref,
    op_host_capacity,
    storage_pool,
    storage_pool_host_ref,
    table,
)

# Not among the tables schema_bridge.tables names as attributes.
storage_pool_tags = table("storage_pool_tags")


@dataclass(frozen=True)
class PoolFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    host_id: int | None = None
    address: str | None = None
    path: str | None = None
    scope: str | None = None
    status: str | None = None


# op_host_capacity.capacity_type of a pool's allocated bytes.
STORAGE_ALLOCATED_CAPACITY = 3


def _pools_query(f: PoolFilter) -> Select[Any]:
    allocated = op_host_capacity.alias("allocated_capacity")
    joined = (
        storage_pool.outerjoin(data_center, data_center.c.id == storage_pool.c.data_center_id)
        .outerjoin(host_pod_ref, host_pod_ref.c.id == storage_pool.c.pod_id)
        .outerjoin(cluster, cluster.c.id == storage_pool.c.cluster_id)
        .outerjoin(
            allocated,
            (allocated.c.host_id == storage_pool.c.id)
            & (allocated.c.capacity_type == STORAGE_ALLOCATED_CAPACITY),
        )
    )
    query = (
        select(
            storage_pool,
            data_center.c.uuid.label("zone_uuid"),
            data_center.c.name.label("zone_name"),
            host_pod_ref.c.uuid.label("pod_uuid"),
            host_pod_ref.c.name.label("pod_name"),
            cluster.c.uuid.label("cluster_uuid"),
            cluster.c.name.label("cluster_name"),
            allocated.c.used_capacity.label("allocated_used"),
            allocated.c.reserved_capacity.label("allocated_reserved"),
        )
        .select_from(joined)
        .where(storage_pool.c.removed.is_(None))
        .order_by(storage_pool.c.id)
    )
    return _pool_filters(query, f)


def _pool_filters(query: Select[Any], f: PoolFilter) -> Select[Any]:
    if f.ids:
        query = query.where(storage_pool.c.id.in_(f.ids))
    equal = (
        (storage_pool.c.data_center_id, f.zone_id),
        (storage_pool.c.pod_id, f.pod_id),
        (storage_pool.c.cluster_id, f.cluster_id),
        (storage_pool.c.name, f.name),
        (storage_pool.c.host_address, f.address),
        (storage_pool.c.path, f.path),
        (storage_pool.c.scope, f.scope),
        (storage_pool.c.status, f.status),
    )
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if f.host_id is not None:
        on_host = select(storage_pool_host_ref.c.pool_id).where(
            storage_pool_host_ref.c.host_id == f.host_id
        )
        query = query.where(storage_pool.c.id.in_(on_host.scalar_subquery()))
    if f.keyword:
        pattern = like_escape(f.keyword)
        query = query.where(
            or_(
                storage_pool.c.name.like(pattern, escape="\\"),
                storage_pool.c.pool_type.like(pattern, escape="\\"),
            )
        )
    return query


async def storage_pools(
    conn: AsyncConnection, f: PoolFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _pools_query(f), offset, limit)


async def pool_tags_of(
    conn: AsyncConnection, pool_ids: Iterable[int]
) -> dict[int, list[tuple[str, bool]]]:
    """Each pool's storage tags with their is-a-rule flag, in row order."""
    wanted = list(pool_ids)
    out: dict[int, list[tuple[str, bool]]] = {pool_id: [] for pool_id in wanted}
    if not wanted:
        return out
    query = (
        select(
            storage_pool_tags.c.pool_id, storage_pool_tags.c.tag, storage_pool_tags.c.is_tag_a_rule
        )
        .where(storage_pool_tags.c.pool_id.in_(wanted))
        .order_by(storage_pool_tags.c.id)
    )
    for pool_id, tag, is_rule in (await conn.execute(query)).all():
        out[int(pool_id)].append((str(tag), bool(is_rule)))
    return out
