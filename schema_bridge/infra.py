"""Zones, pods, clusters and hosts: the infrastructure reads (storage pools: storage_pools)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    cluster,
    cluster_details,
    data_center,
    domain,
    host,
    host_pod_ref,
    host_tags,
    mshost,
    op_host_capacity,
    vm_instance,
)


@dataclass(frozen=True)
class ZoneFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    networktype: str | None = None
    domain_id: int | None = None
    enabled_only: bool = False
    # Dedicated zones are visible only to callers in (or above) these domains.
    visible_domain_ids: tuple[int, ...] | None = None


def _zones_query(f: ZoneFilter) -> Select[tuple[object, ...]]:
    query = (
        select(data_center, domain.c.uuid.label("domain_uuid"), domain.c.name.label("domain_name"))
        .select_from(data_center.outerjoin(domain, domain.c.id == data_center.c.domain_id))
        .where(data_center.c.removed.is_(None))
        .order_by(data_center.c.sort_key, data_center.c.id)
    )
    if f.ids:
        query = query.where(data_center.c.id.in_(f.ids))
    if f.name is not None:
        query = query.where(data_center.c.name == f.name)
    if f.keyword:
        query = query.where(data_center.c.name.like(like_escape(f.keyword), escape="\\"))
    if f.networktype:
        query = query.where(data_center.c.networktype == f.networktype)
    if f.domain_id is not None:
        query = query.where(data_center.c.domain_id == f.domain_id)
    if f.enabled_only:
        query = query.where(data_center.c.allocation_state == "Enabled")
    if f.visible_domain_ids is not None:
        query = query.where(
            or_(
                data_center.c.domain_id.is_(None), data_center.c.domain_id.in_(f.visible_domain_ids)
            )
        )
    return query


async def zones(conn: AsyncConnection, f: ZoneFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _zones_query(f), offset, limit)


async def all_zones(conn: AsyncConnection) -> list[Any]:
    """Every zone, in listing order, for a snapshot that `zone_matches` then filters."""
    return list((await conn.execute(_zones_query(ZoneFilter()))).all())


def zone_matches(row: Any, f: ZoneFilter, names_ignore_case: bool) -> bool:
    """`_zones_query`'s filter on one row of `all_zones`. MariaDB compares names without
    regard to case (its collation), SQLite exactly; LIKE ignores ASCII case on both."""
    if f.ids and row.id not in f.ids:
        return False
    if f.name is not None:
        same = row.name.casefold() == f.name.casefold() if names_ignore_case else row.name == f.name
        if not same:
            return False
    if f.keyword and f.keyword.casefold() not in (row.name or "").casefold():
        return False
    if f.networktype and row.networktype != f.networktype:
        return False
    if f.domain_id is not None and row.domain_id != f.domain_id:
        return False
    if f.enabled_only and row.allocation_state != "Enabled":
        return False
    visible = f.visible_domain_ids
    return visible is None or row.domain_id is None or row.domain_id in visible


def _exact_or_like(
    query: Select[Any], column: ColumnElement[Any], name: str | None, keyword: str | None
) -> Select[Any]:
    """CloudStack's usual pair: `name` matches exactly, `keyword` as a substring."""
    if name is not None:
        query = query.where(column == name)
    if keyword:
        query = query.where(column.like(like_escape(keyword), escape="\\"))
    return query


@dataclass(frozen=True)
class PodFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    allocation_state: str | None = None


def _pods_query(f: PodFilter) -> Select[Any]:
    query = (
        select(
            host_pod_ref,
            data_center.c.uuid.label("zone_uuid"),
            data_center.c.name.label("zone_name"),
        )
        .select_from(
            host_pod_ref.join(data_center, data_center.c.id == host_pod_ref.c.data_center_id)
        )
        .where(host_pod_ref.c.removed.is_(None))
        # The management server sorts pods by zone; the id keeps pages stable within a zone.
        .order_by(host_pod_ref.c.data_center_id, host_pod_ref.c.id)
    )
    if f.ids:
        query = query.where(host_pod_ref.c.id.in_(f.ids))
    if f.zone_id is not None:
        query = query.where(host_pod_ref.c.data_center_id == f.zone_id)
    if f.allocation_state is not None:
        query = query.where(host_pod_ref.c.allocation_state == f.allocation_state)
    return _exact_or_like(query, host_pod_ref.c.name, f.name, f.keyword)


async def pods(conn: AsyncConnection, f: PodFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _pods_query(f), offset, limit)


@dataclass(frozen=True)
class ClusterFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    hypervisor: str | None = None
    cluster_type: str | None = None
    allocation_state: str | None = None
    managed_state: str | None = None
    arch: str | None = None


def _clusters_query(f: ClusterFilter) -> Select[Any]:
    query = (
        select(
            cluster,
            host_pod_ref.c.uuid.label("pod_uuid"),
            host_pod_ref.c.name.label("pod_name"),
            data_center.c.uuid.label("zone_uuid"),
            data_center.c.name.label("zone_name"),
        )
        .select_from(
            cluster.outerjoin(host_pod_ref, host_pod_ref.c.id == cluster.c.pod_id).outerjoin(
                data_center, data_center.c.id == cluster.c.data_center_id
            )
        )
        .where(cluster.c.removed.is_(None))
        .order_by(cluster.c.id)
    )
    if f.ids:
        query = query.where(cluster.c.id.in_(f.ids))
    equal = (
        (cluster.c.data_center_id, f.zone_id),
        (cluster.c.pod_id, f.pod_id),
        (cluster.c.cluster_type, f.cluster_type),
        (cluster.c.allocation_state, f.allocation_state),
        (cluster.c.managed_state, f.managed_state),
        (cluster.c.arch, f.arch),
    )
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if f.hypervisor is not None:
        # Hypervisor names are matched the way HypervisorType.getType reads them: any case.
        query = query.where(func.lower(cluster.c.hypervisor_type) == f.hypervisor.lower())
    return _exact_or_like(query, cluster.c.name, f.name, f.keyword)


async def clusters(conn: AsyncConnection, f: ClusterFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _clusters_query(f), offset, limit)


async def cluster_details_of(
    conn: AsyncConnection, cluster_ids: Iterable[int]
) -> dict[int, dict[str, str]]:
    """Every detail (name → value) of each cluster, in row order."""
    wanted = list(cluster_ids)
    out: dict[int, dict[str, str]] = {cluster_id: {} for cluster_id in wanted}
    if not wanted:
        return out
    query = (
        select(cluster_details.c.cluster_id, cluster_details.c.name, cluster_details.c.value)
        .where(cluster_details.c.cluster_id.in_(wanted))
        .order_by(cluster_details.c.id)
    )
    for cluster_id, name, value in (await conn.execute(query)).all():
        out[int(cluster_id)][str(name)] = "" if value is None else str(value)
    return out


@dataclass(frozen=True)
class HostFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    type: str | None = None
    status: str | None = None
    resource_state: str | None = None
    hypervisor: str | None = None
    arch: str | None = None
    vm_id: int | None = None


# op_host_capacity.capacity_type ordinals for a host's memory and CPU.
MEMORY_CAPACITY, CPU_CAPACITY = 0, 1


def _host_capacity(kind: int, prefix: str) -> tuple[Any, list[Any]]:
    capacity = op_host_capacity.alias(f"{prefix}_capacity")
    columns = [
        capacity.c.used_capacity.label(f"{prefix}_used"),
        capacity.c.reserved_capacity.label(f"{prefix}_reserved"),
    ]
    return capacity, columns


def _hosts_query(f: HostFilter) -> Select[Any]:
    memory, memory_columns = _host_capacity(MEMORY_CAPACITY, "mem")
    cpu, cpu_columns = _host_capacity(CPU_CAPACITY, "cpu")
    joined = (
        host.outerjoin(cluster, cluster.c.id == host.c.cluster_id)
        .outerjoin(host_pod_ref, host_pod_ref.c.id == host.c.pod_id)
        .outerjoin(data_center, data_center.c.id == host.c.data_center_id)
        .outerjoin(mshost, mshost.c.msid == host.c.mgmt_server_id)
        .outerjoin(
            memory, (memory.c.host_id == host.c.id) & (memory.c.capacity_type == MEMORY_CAPACITY)
        )
        .outerjoin(cpu, (cpu.c.host_id == host.c.id) & (cpu.c.capacity_type == CPU_CAPACITY))
    )
    query = (
        select(
            host,
            cluster.c.uuid.label("cluster_uuid"),
            cluster.c.name.label("cluster_name"),
            cluster.c.cluster_type,
            host_pod_ref.c.uuid.label("pod_uuid"),
            host_pod_ref.c.name.label("pod_name"),
            data_center.c.uuid.label("zone_uuid"),
            data_center.c.name.label("zone_name"),
            mshost.c.uuid.label("mshost_uuid"),
            mshost.c.name.label("mshost_name"),
            *memory_columns,
            *cpu_columns,
        )
        .select_from(joined)
        .where(host.c.removed.is_(None))
        .order_by(host.c.id)
    )
    return _host_filters(query, f)


def _host_filters(query: Select[Any], f: HostFilter) -> Select[Any]:
    if f.ids:
        query = query.where(host.c.id.in_(f.ids))
    equal = (
        (host.c.data_center_id, f.zone_id),
        (host.c.pod_id, f.pod_id),
        (host.c.cluster_id, f.cluster_id),
        (host.c.arch, f.arch),
    )
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    # The UI sends these in lower case (type=routing, state=up); CloudStack's MySQL collation
    # compares them without case, so SQLite must too.
    for column, text in (
        (host.c.type, f.type),
        (host.c.status, f.status),
        (host.c.resource_state, f.resource_state),
    ):
        if text is not None:
            query = query.where(func.lower(column) == text.lower())
    if f.hypervisor is not None:
        query = query.where(host.c.hypervisor_type == f.hypervisor)
    if f.vm_id is not None:
        # Migration targets: the other hosts of the cluster the VM runs in.
        current = host.alias("current_host")
        runs_on = (
            select(current.c.id, current.c.cluster_id)
            .join(vm_instance, vm_instance.c.host_id == current.c.id)
            .where(vm_instance.c.id == f.vm_id)
            .subquery()
        )
        peers = select(runs_on.c.cluster_id).scalar_subquery()
        query = query.where(
            host.c.cluster_id == peers, host.c.id != select(runs_on.c.id).scalar_subquery()
        )
    if f.name is not None:
        query = query.where(host.c.name == f.name)
    if f.keyword:
        pattern = like_escape(f.keyword)
        query = query.where(
            or_(
                *(
                    column.like(pattern, escape="\\")
                    for column in (host.c.name, host.c.status, host.c.type, host.c.version)
                )
            )
        )
    return query


async def hosts(conn: AsyncConnection, f: HostFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _hosts_query(f), offset, limit)


@dataclass(frozen=True)
class HostTag:
    tag: str
    is_rule: bool
    implicit: bool


async def host_tags_of(conn: AsyncConnection, host_ids: Iterable[int]) -> dict[int, list[HostTag]]:
    wanted = list(host_ids)
    out: dict[int, list[HostTag]] = {host_id: [] for host_id in wanted}
    if not wanted:
        return out
    query = (
        select(
            host_tags.c.host_id, host_tags.c.tag, host_tags.c.is_tag_a_rule, host_tags.c.is_implicit
        )
        .where(host_tags.c.host_id.in_(wanted))
        .order_by(host_tags.c.id)
    )
    for host_id, tag, is_rule, implicit in (await conn.execute(query)).all():
        out[int(host_id)].append(HostTag(str(tag), bool(is_rule), bool(implicit)))
    return out
