"""What a hypervisor needs to know about a VM: its disks and NICs as stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import host, networks, nics, volumes


@dataclass(frozen=True)
class DiskRow:
    id: int
    path: str | None
    size: int
    device_id: int
    format: str | None


@dataclass(frozen=True)
class NicRow:
    mac: str
    broadcast_uri: str | None
    device_id: int


@dataclass(frozen=True)
class HostRow:
    id: int
    name: str
    ip: str
    hypervisor_type: str
    cluster_id: int


async def disks(conn: AsyncConnection, vm_id: int) -> list[DiskRow]:
    query = (
        select(volumes.c.id, volumes.c.path, volumes.c.size, volumes.c.device_id, volumes.c.format)
        .where(volumes.c.instance_id == vm_id, volumes.c.removed.is_(None))
        .order_by(volumes.c.device_id)
    )
    return [
        DiskRow(int(r.id), r.path, int(r.size or 0), int(r.device_id or 0), r.format)
        for r in (await conn.execute(query)).all()
    ]


async def vm_nics(conn: AsyncConnection, vm_id: int) -> list[NicRow]:
    query = (
        select(nics.c.mac_address, networks.c.broadcast_uri, nics.c.device_id)
        .join(networks, networks.c.id == nics.c.network_id)
        .where(nics.c.instance_id == vm_id, nics.c.removed.is_(None))
        .order_by(nics.c.device_id)
    )
    return [
        NicRow(str(r.mac_address), r.broadcast_uri, int(r.device_id or 0))
        for r in (await conn.execute(query)).all()
    ]


async def host_row(conn: AsyncConnection, host_id: int) -> HostRow | None:
    query = select(
        host.c.id, host.c.name, host.c.private_ip_address, host.c.hypervisor_type, host.c.cluster_id
    ).where(host.c.id == host_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return HostRow(
        int(row.id),
        str(row.name),
        str(row.private_ip_address),
        str(row.hypervisor_type),
        int(row.cluster_id or 0),
    )
