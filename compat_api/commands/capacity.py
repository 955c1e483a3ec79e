"""listCapacity: used and total capacity per type, summed over a zone, pod or cluster."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from compat_api.context import CallContext
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses import capacity
from schema_bridge import capacity_summary, configuration, infra

MEMORY, CPU = 0, 1
_FACTORS = {CPU: "cpuOvercommitRatio", MEMORY: "memoryOvercommitRatio"}
_GLOBAL = {CPU: "cpu.overprovisioning.factor", MEMORY: "mem.overprovisioning.factor"}


def _number(raw: str | None, default: float) -> float:
    try:
        return float(raw) if raw is not None else default
    except ValueError:
        return default


async def _factors(conn: Any, cluster_ids: set[int]) -> dict[tuple[int, int | None], float]:
    """(capacity type, cluster) → over-provisioning factor applied to the total."""
    settings = await configuration.values(conn, list(_GLOBAL.values()))
    details = await infra.cluster_details_of(conn, cluster_ids)
    out: dict[tuple[int, int | None], float] = {}
    for kind, name in _GLOBAL.items():
        default = _number(settings[name], 1.0)
        out[(kind, None)] = default
        for cluster_id, values in details.items():
            out[(kind, cluster_id)] = _number(values.get(_FACTORS[kind]), default)
    return out


def _level(row: Any, f: capacity_summary.CapacityFilter) -> tuple[int, int | None, int | None]:
    pod = row.pod_id if f.pod_id is not None else None
    cluster = row.cluster_id if f.cluster_id is not None else None
    return int(row.data_center_id), pod, cluster


Level = tuple[int, int | None, int | None]


Factors = dict[tuple[int, int | None], float]


def _sums(
    rows: list[Any], f: capacity_summary.CapacityFilter, factors: Factors
) -> dict[tuple[Level, int], list[float]]:
    """(level, capacity type) → [used + reserved, total x the cluster's over-provisioning]."""
    sums: dict[tuple[Level, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        kind = int(row.capacity_type)
        factor = factors.get((kind, row.for_cluster), factors.get((kind, None), 1.0))
        entry = sums[(_level(row, f), kind)]
        entry[0] += float(row.used or 0) + float(row.reserved or 0)
        entry[1] += float(row.total or 0) * factor
    return sums


async def list_capacity(ctx: CallContext, args: dict[str, Any]) -> Result:
    f = capacity_summary.CapacityFilter(
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        cluster_id=args.get("clusterid"),
        capacity_type=args.get("type"),
    )
    async with ctx.db.engine.connect() as conn:
        rows = await capacity_summary.summed(conn, f)
        clusters = {int(r.for_cluster) for r in rows if r.for_cluster is not None}
        sums = _sums(rows, f, await _factors(conn, clusters))
        names = await capacity_summary.names(
            conn,
            {level[0] for level, _ in sums},
            {level[1] for level, _ in sums if level[1] is not None},
            {level[2] for level, _ in sums if level[2] is not None},
        )
    items = [
        _present(level, kind, used, total, names) for (level, kind), (used, total) in sums.items()
    ]
    if args.get("sortby") == "usage":
        items.sort(key=lambda item: -float(item["percentused"]))
    else:
        items.sort(key=lambda item: (item.get("zonename", ""), item["type"]))
    return ListResult(items, len(items), capacity.OBJECT_NAME)


def _present(
    level: tuple[int, int | None, int | None],
    kind: int,
    used: float,
    total: float,
    names: dict[tuple[str, int], tuple[str, str]],
) -> dict[str, Any]:
    zone_id, pod_id, cluster_id = level
    zone = names.get(("zone", zone_id), (None, None))
    pod = names.get(("pod", pod_id), (None, None)) if pod_id is not None else (None, None)
    cluster = (
        names.get(("cluster", cluster_id), (None, None)) if cluster_id is not None else (None, None)
    )
    return capacity.present(
        {
            "type": kind,
            "zoneid": zone[0],
            "zonename": zone[1],
            "podid": pod[0],
            "podname": pod[1],
            "clusterid": cluster[0],
            "clustername": cluster[1],
            "capacityused": int(used),
            "capacitytotal": int(total),
        }
    )


COMMANDS: list[Command] = [
    declare(
        "listCapacity",
        subsystem="infra",
        handler=list_capacity,
        roles=ADMINS,
        summary="Used and total capacity of each kind (memory, CPU, storage, IPs, VLANs) "
        "summed over a zone, pod or cluster; CPU and memory totals include over-provisioning.",
    ),
]
