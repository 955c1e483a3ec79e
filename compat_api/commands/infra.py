"""Infrastructure reads: zones, pods, clusters, hosts, storage pools."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from compat_api import errors
from compat_api.commands.catalog import HYPERVISORS
from compat_api.context import CallContext
from compat_api.listing import empty, ids_of, listed, page_of, wants_id
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses import cluster, host, pod, storage_pool, zone
from schema_bridge import accounts, configuration, infra, storage_pools
from schema_bridge.paging import Page


async def list_zones(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    ids = ids_of(args)
    if wants_id(args) and not ids:
        return empty(ctx)
    caller = ctx.caller
    filters = infra.ZoneFilter(
        ids=ids,
        name=args.get("name"),
        keyword=args.get("keyword"),
        networktype=args.get("networktype"),
        domain_id=args.get("domainid"),
        enabled_only=not caller.is_root_admin,
    )
    # Zone visibility depends only on the caller's domain, so that is all the key holds.
    visibility = None if caller.is_root_admin else caller.domain_path
    snapshot = ctx.config.zones
    if snapshot.usable():
        if visibility is not None:
            filters = replace(filters, visible_domain_ids=snapshot.ancestors(visibility))
        memory = snapshot.page(filters, paging.offset, paging.limit)
        return listed(ctx, memory, lambda row: zone.present(row, caller))

    async def load() -> Page:
        async with ctx.db.engine.connect() as conn:
            scoped = filters
            if visibility is not None:
                ancestors = await accounts.ancestor_domain_ids(conn, visibility)
                scoped = replace(filters, visible_domain_ids=ancestors)
            return await infra.zones(conn, scoped, paging.offset, paging.limit)

    page = await ctx.config.infra_reads.get(("zones", filters, visibility, paging), load)
    assert isinstance(page, Page)
    return listed(ctx, page, lambda row: zone.present(row, caller))


def _infra_ids(args: dict[str, Any]) -> tuple[int, ...] | None:
    """The id filter, or None when an id was asked for that can match nothing (-1)."""
    ids = ids_of(args)
    if wants_id(args) and not [i for i in ids if i > 0]:
        return None
    return ids


async def list_pods(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    ids = _infra_ids(args)
    if ids is None:
        return empty(ctx)
    filters = infra.PodFilter(
        ids=ids,
        name=args.get("name"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        allocation_state=args.get("allocationstate"),
    )
    async with ctx.db.engine.connect() as conn:
        page = await infra.pods(conn, filters, paging.offset, paging.limit)
    return listed(ctx, page, pod.present)


async def list_clusters(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    ids = _infra_ids(args)
    if ids is None:
        return empty(ctx)
    filters = infra.ClusterFilter(
        ids=ids,
        name=args.get("name"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        hypervisor=args.get("hypervisor"),
        cluster_type=args.get("clustertype"),
        allocation_state=args.get("allocationstate"),
        managed_state=args.get("managedstate"),
        arch=args.get("arch"),
    )
    async with ctx.db.engine.connect() as conn:
        page = await infra.clusters(conn, filters, paging.offset, paging.limit)
        details = await infra.cluster_details_of(conn, [row.id for row in page.rows])
    return listed(ctx, page, lambda row: cluster.present(row, details[row.id]))


def _host_views(args: dict[str, Any]) -> frozenset[str]:
    wanted = args.get("details") or ["all"]
    if any(view not in host.DETAIL_VIEWS for view in wanted):
        allowed = ", ".join(host.DETAIL_VIEWS)
        raise errors.invalid_parameter(
            "The details parameter contains a non permitted value. The allowed values are "
            f"[{allowed}]"
        )
    return frozenset(wanted)


def _factor(raw: str | None, default: float) -> float:
    try:
        return float(raw) if raw is not None else default
    except ValueError:
        return default


async def _overcommit(conn: Any, cluster_ids: set[int]) -> dict[int | None, host.Overcommit]:
    """Each cluster's over-provisioning factors: its own details, else the global settings."""
    names = ("cpu.overprovisioning.factor", "mem.overprovisioning.factor")
    settings = await configuration.values(conn, names)
    default = host.Overcommit(_factor(settings[names[0]], 1.0), _factor(settings[names[1]], 1.0))
    details = await infra.cluster_details_of(conn, cluster_ids)
    out: dict[int | None, host.Overcommit] = {None: default}
    for cluster_id, values in details.items():
        out[cluster_id] = host.Overcommit(
            _factor(values.get("cpuOvercommitRatio"), default.cpu),
            _factor(values.get("memoryOvercommitRatio"), default.memory),
        )
    return out


async def list_hosts(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    views = _host_views(args)
    ids = _infra_ids(args)
    if ids is None:
        return empty(ctx)
    filters = infra.HostFilter(
        ids=ids,
        name=args.get("name"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        cluster_id=args.get("clusterid"),
        type=args.get("type"),
        status=args.get("state"),
        resource_state=args.get("resourcestate"),
        # Read as HypervisorType.getType does: an unknown name filters nothing.
        hypervisor=HYPERVISORS.get(str(args.get("hypervisor", "")).lower()),
        arch=args.get("arch"),
        vm_id=args.get("virtualmachineid"),
    )
    async with ctx.db.engine.connect() as conn:
        page = await infra.hosts(conn, filters, paging.offset, paging.limit)
        factors = await _overcommit(conn, {row.cluster_id for row in page.rows if row.cluster_id})
        tags = await infra.host_tags_of(conn, [row.id for row in page.rows])

    def present(row: Any) -> dict[str, Any]:
        return host.present(row, views, factors.get(row.cluster_id, factors[None]), tags[row.id])

    return listed(ctx, page, present)


async def list_storage_pools(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    ids = _infra_ids(args)
    if ids is None:
        return ListResult([], 0, storage_pool.OBJECT_NAME)
    filters = storage_pools.PoolFilter(
        ids=ids,
        name=args.get("name"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        cluster_id=args.get("clusterid"),
        host_id=args.get("hostid"),
        address=args.get("ipaddress"),
        path=args.get("path"),
        scope=args.get("scope"),
        status=args.get("status"),
    )
    async with ctx.db.engine.connect() as conn:
        page = await storage_pools.storage_pools(conn, filters, paging.offset, paging.limit)
        tags = await storage_pools.pool_tags_of(conn, [row.id for row in page.rows])
        name = "storage.overprovisioning.factor"
        factor = _factor((await configuration.values(conn, [name]))[name], 1.0)
    items = [storage_pool.present(row, tags[row.id], factor) for row in page.rows]
    # listStoragePools has no object name in the facts; the server calls its items so.
    return ListResult(items, page.total, storage_pool.OBJECT_NAME)


COMMANDS: list[Command] = [
    declare(
        "listZones",
        subsystem="infra",
        handler=list_zones,
        summary="Zones the caller may deploy into; admins see every zone and its DNS settings.",
    ),
    declare(
        "listPods",
        subsystem="infra",
        handler=list_pods,
        roles=ADMINS,
        summary="Pods of every zone with their gateway, netmask and reserved IP ranges.",
    ),
    declare(
        "listClusters",
        subsystem="infra",
        handler=list_clusters,
        roles=ADMINS,
        summary="Clusters with their hypervisor, state and over-commit ratios.",
    ),
    declare(
        "listHosts",
        subsystem="infra",
        handler=list_hosts,
        roles=ADMINS,
        summary="Hosts with agent state, allocated capacity against over-provisioning, tags.",
    ),
    declare(
        "listStoragePools",
        subsystem="infra",
        handler=list_storage_pools,
        roles=ADMINS,
        summary="Primary storage pools with their size, allocation, tags and scope.",
    ),
]
