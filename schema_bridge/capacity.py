"""Host capacity in `op_host_capacity`: find room, reserve it atomically, give it back.

A reservation is one conditional UPDATE per capacity type, so two processes (or two Galera
nodes, which then conflict at COMMIT) can never both take the last room on a host.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import utc_now
from schema_bridge.tables import cluster_details, configuration, host, op_host_capacity

MEMORY, CPU, CPU_CORE = 0, 1, 90
MIB = 1024 * 1024


@dataclass(frozen=True)
class Demand:
    cpu_mhz: int  # cores x speed
    memory_bytes: int
    cores: int


@dataclass(frozen=True)
class Candidate:
    host_id: int
    cluster_id: int
    free_memory: float


async def _ratio(conn: AsyncConnection, cluster_id: int, name: str, global_name: str) -> float:
    query = select(cluster_details.c.value).where(
        cluster_details.c.cluster_id == cluster_id, cluster_details.c.name == name
    )
    value = (await conn.execute(query)).scalar()
    if value is None:
        value = (
            await conn.execute(
                select(configuration.c.value).where(configuration.c.name == global_name)
            )
        ).scalar()
    try:
        return float(value) if value is not None else 1.0
    except ValueError:
        return 1.0


async def ratios(conn: AsyncConnection, cluster_id: int) -> tuple[float, float]:
    """(cpu, memory) over-provisioning factors of a cluster, else the global settings."""
    cpu = await _ratio(conn, cluster_id, "cpuOvercommitRatio", "cpu.overprovisioning.factor")
    memory = await _ratio(conn, cluster_id, "memoryOvercommitRatio", "mem.overprovisioning.factor")
    return cpu, memory


async def candidates(
    conn: AsyncConnection, zone_id: int, hypervisor: str | None
) -> list[Candidate]:
    """Up and enabled routing hosts of the zone, most free memory first."""
    used = op_host_capacity.c.used_capacity + op_host_capacity.c.reserved_capacity
    query = (
        select(
            host.c.id, host.c.cluster_id, (op_host_capacity.c.total_capacity - used).label("free")
        )
        .join(
            op_host_capacity,
            and_(
                op_host_capacity.c.host_id == host.c.id, op_host_capacity.c.capacity_type == MEMORY
            ),
        )
        .where(host.c.data_center_id == zone_id, host.c.type == "Routing", host.c.removed.is_(None))
        .where(host.c.status == "Up", host.c.resource_state == "Enabled")
        .order_by((op_host_capacity.c.total_capacity - used).desc(), host.c.id)
    )
    if hypervisor:
        query = query.where(host.c.hypervisor_type == hypervisor)
    return [
        Candidate(int(r.id), int(r.cluster_id), float(r.free))
        for r in (await conn.execute(query)).all()
    ]


async def _take(conn: AsyncConnection, host_id: int, kind: int, amount: int, ratio: float) -> bool:
    row = op_host_capacity.c
    fits = (row.used_capacity + row.reserved_capacity + amount) <= func.floor(
        row.total_capacity * Decimal(str(ratio))
    )
    changed = await conn.execute(
        update(op_host_capacity)
        .where(row.host_id == host_id, row.capacity_type == kind, fits)
        .values(used_capacity=row.used_capacity + amount, update_time=utc_now())
    )
    return changed.rowcount == 1


async def reserve(conn: AsyncConnection, host_id: int, cluster_id: int, demand: Demand) -> bool:
    """Take CPU and memory on `host_id` inside the caller's transaction; False if it does not
    fit (the caller rolls back, so a half reservation never commits)."""
    cpu_ratio, mem_ratio = await ratios(conn, cluster_id)
    if not await _take(conn, host_id, CPU, demand.cpu_mhz, cpu_ratio):
        return False
    if not await _take(conn, host_id, MEMORY, demand.memory_bytes, mem_ratio):
        return False
    await adjust(conn, host_id, CPU_CORE, demand.cores)
    return True


async def adjust(conn: AsyncConnection, host_id: int, kind: int, amount: int) -> None:
    row = op_host_capacity.c
    await conn.execute(
        update(op_host_capacity)
        .where(row.host_id == host_id, row.capacity_type == kind)
        .values(used_capacity=row.used_capacity + amount, update_time=utc_now())
    )


async def release(conn: AsyncConnection, host_id: int, demand: Demand) -> None:
    for kind, amount in (
        (CPU, demand.cpu_mhz),
        (MEMORY, demand.memory_bytes),
        (CPU_CORE, demand.cores),
    ):
        await adjust(conn, host_id, kind, -amount)
