"""Demo infrastructure: one Advanced zone, a pod, a Simulator cluster and its hosts,
NFS primary storage, an NFS image store, and the capacity rows CloudStack keeps for them.

Hosts are sized so that 50 of them hold 10,000 small (1 vCPU, 512 MB) VMs: 32 cores at
2000 MHz with a CPU over-commit of 4 and 192 GiB of RAM give each host room for 384.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import utc_now
from schema_bridge.ids import STORAGE_POOL_SEQ, allocate, new_uuid
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    cluster,
    cluster_details,
    data_center,
    host,
    host_pod_ref,
    hypervisor_capabilities,
    image_store,
    op_dc_ip_address_alloc,
    op_host_capacity,
    storage_pool,
    storage_pool_host_ref,
)

HYPERVISOR: Final = "Simulator"
HOST_CPUS: Final = 32
HOST_CPU_MHZ: Final = 2000
HOST_RAM_BYTES: Final = 192 * 1024**3
CPU_OVERCOMMIT: Final = "4.0"
MEMORY_OVERCOMMIT: Final = "1.0"
STORAGE_OVERPROVISIONING: Final = 2
PRIMARY_BYTES: Final = 200 * 1024**4
SECONDARY_BYTES: Final = 50 * 1024**4
POD_CIDR: Final = ipaddress.IPv4Network("172.16.0.0/20")
SYSTEM_VM_IPS: Final = 20
MAX_HOSTS: Final = 2000
# op_host_capacity.capacity_type ordinals (Capacity.CAPACITY_TYPE_*).
MEMORY, CPU, STORAGE, STORAGE_ALLOCATED, PUBLIC_IP, PRIVATE_IP = 0, 1, 2, 3, 4, 5
SECONDARY_STORAGE, VLAN, CPU_CORE = 6, 7, 90


@dataclass(frozen=True)
class Infrastructure:
    zone_id: int
    zone_uuid: str
    pod_id: int
    cluster_id: int
    host_ids: tuple[int, ...]
    storage_pool_id: int
    image_store_id: int


def java_name_uuid(data: str) -> str:
    """Java's UUID.nameUUIDFromBytes (MD5, version 3), which CloudStack uses for NFS pools."""
    return str(
        uuid.UUID(bytes=hashlib.md5(data.encode(), usedforsecurity=False).digest(), version=3)
    )


async def reserve_zone_macs(connection: AsyncConnection, zone_id: int, count: int) -> int:
    """Take `count` values of the zone's MAC counter (data_center.mac_address); first returned."""
    query = select(data_center.c.mac_address).where(data_center.c.id == zone_id)
    first = (await connection.execute(query)).scalar_one()
    if first is None:
        raise LookupError(f"zone {zone_id} has no MAC address counter")
    await connection.execute(
        update(data_center)
        .where(data_center.c.id == zone_id)
        .values(mac_address=data_center.c.mac_address + count)
    )
    return int(first)


async def _zone(connection: AsyncConnection, now: datetime) -> tuple[int, str]:
    zone_uuid = new_uuid()
    zone_id = await insert_row(
        connection,
        data_center,
        name="demo-zone-1",
        uuid=zone_uuid,
        dns1="8.8.8.8",
        dns2="8.8.4.4",
        internal_dns1="10.0.0.2",
        guest_network_cidr="10.1.1.0/24",
        networktype="Advanced",
        allocation_state="Enabled",
        zone_token=new_uuid(),
        is_security_group_enabled=False,
        is_local_storage_enabled=False,
        created=now,
        type="Core",
    )
    return zone_id, zone_uuid


async def _pod_and_cluster(
    connection: AsyncConnection, zone_id: int, now: datetime
) -> tuple[int, int]:
    pod_id = await insert_row(
        connection,
        host_pod_ref,
        name="demo-pod-1",
        uuid=new_uuid(),
        data_center_id=zone_id,
        gateway=str(POD_CIDR[1]),
        cidr_address=str(POD_CIDR.network_address),
        cidr_size=POD_CIDR.prefixlen,
        allocation_state="Enabled",
        created=now,
    )
    cluster_id = await insert_row(
        connection,
        cluster,
        name="demo-cluster-1",
        uuid=new_uuid(),
        pod_id=pod_id,
        data_center_id=zone_id,
        hypervisor_type=HYPERVISOR,
        cluster_type="CloudManaged",
        allocation_state="Enabled",
        managed_state="Managed",
        created=now,
    )
    await connection.execute(
        insert(cluster_details),
        [
            {"cluster_id": cluster_id, "name": "cpuOvercommitRatio", "value": CPU_OVERCOMMIT},
            {"cluster_id": cluster_id, "name": "memoryOvercommitRatio", "value": MEMORY_OVERCOMMIT},
        ],
    )
    return pod_id, cluster_id


async def _system_vm_ips(connection: AsyncConnection, zone_id: int, pod_id: int) -> None:
    """The pod's private range for system VMs (op_dc_ip_address_alloc), top of the pod CIDR."""
    last = POD_CIDR.num_addresses - 2
    addresses = [str(POD_CIDR[index]) for index in range(last - SYSTEM_VM_IPS + 1, last + 1)]
    first_mac = await reserve_zone_macs(connection, zone_id, len(addresses))
    rows = [
        {
            "ip_address": address,
            "data_center_id": zone_id,
            "pod_id": pod_id,
            "mac_address": first_mac + n,
        }
        for n, address in enumerate(addresses)
    ]
    await connection.execute(insert(op_dc_ip_address_alloc), rows)
    place = {"data_center_id": zone_id, "pod_id": pod_id}
    capacity = capacity_row(PRIVATE_IP, None, len(rows), place, utc_now())
    await connection.execute(insert(op_host_capacity).values(**capacity))


def _random_mac() -> str:
    return "1e:00:" + ":".join(f"{byte:02x}" for byte in secrets.token_bytes(4))


def _host_values(
    number: int, zone_id: int, pod_id: int, cluster_id: int, now: datetime
) -> dict[str, Any]:
    guid = new_uuid()
    address = str(POD_CIDR[256 + number])
    return {
        "name": f"SimulatedAgent.{guid}",
        "uuid": new_uuid(),
        "status": "Up",
        "type": "Routing",
        "private_ip_address": address,
        "private_netmask": str(POD_CIDR.netmask),
        "private_mac_address": _random_mac(),
        "storage_ip_address": address,
        "storage_netmask": str(POD_CIDR.netmask),
        "cluster_id": cluster_id,
        "data_center_id": zone_id,
        "pod_id": pod_id,
        "cpu_sockets": 2,
        "cpus": HOST_CPUS,
        "speed": HOST_CPU_MHZ,
        "url": f"http://sim/c{cluster_id}/h{number}",
        "hypervisor_type": HYPERVISOR,
        "ram": HOST_RAM_BYTES,
        "resource": "com.cloud.agent.manager.SimulatorResource",
        "version": "4.20.2.0",
        "capabilities": "hvm",
        "guid": guid,
        "dom0_memory": 0,
        # CloudStack keeps last_ping as milliseconds shifted right by 10.
        "last_ping": int(time.time() * 1000) >> 10,
        "created": now,
        "resource_state": "Enabled",
    }


def capacity_row(
    kind: int, owner: int | None, total: int, place: dict[str, int], now: datetime
) -> dict[str, Any]:
    return {
        "host_id": owner,
        "used_capacity": 0,
        "reserved_capacity": 0,
        "total_capacity": total,
        "capacity_type": kind,
        "capacity_state": "Enabled",
        "update_time": now,
        "created": now,
        **place,
    }


async def _hosts(
    connection: AsyncConnection, count: int, place: dict[str, int], now: datetime
) -> tuple[int, ...]:
    zone_id, pod_id, cluster_id = place["data_center_id"], place["pod_id"], place["cluster_id"]
    host_ids = []
    for number in range(count):
        values = _host_values(number, zone_id, pod_id, cluster_id, now)
        host_ids.append(await insert_row(connection, host, **values))
    capacities = [
        capacity_row(kind, host_id, total, place, now)
        for host_id in host_ids
        for kind, total in (
            (MEMORY, HOST_RAM_BYTES),
            (CPU, HOST_CPUS * HOST_CPU_MHZ),
            (CPU_CORE, HOST_CPUS),
        )
    ]
    await connection.execute(insert(op_host_capacity), capacities)
    return tuple(host_ids)


async def _primary_storage(
    connection: AsyncConnection, place: dict[str, int], host_ids: tuple[int, ...], now: datetime
) -> int:
    pool_id = await allocate(connection, STORAGE_POOL_SEQ)
    server, path = "10.0.0.10", "/export/primary"
    pool_uuid = java_name_uuid(server + path)
    await insert_row(
        connection,
        storage_pool,
        id=pool_id,
        name="demo-primary-1",
        uuid=pool_uuid,
        pool_type="NetworkFilesystem",
        port=2049,
        used_bytes=0,
        capacity_bytes=PRIMARY_BYTES,
        host_address=server,
        path=path,
        created=now,
        status="Up",
        storage_provider_name="DefaultPrimary",
        scope="CLUSTER",
        **place,
    )
    refs = [
        {"host_id": host_id, "pool_id": pool_id, "created": now, "local_path": f"/mnt/{pool_uuid}"}
        for host_id in host_ids
    ]
    await connection.execute(insert(storage_pool_host_ref), refs)
    await connection.execute(
        insert(op_host_capacity),
        [
            capacity_row(STORAGE, pool_id, PRIMARY_BYTES, place, now),
            capacity_row(
                STORAGE_ALLOCATED, pool_id, PRIMARY_BYTES * STORAGE_OVERPROVISIONING, place, now
            ),
        ],
    )
    return pool_id


async def _image_store(connection: AsyncConnection, zone_id: int, now: datetime) -> int:
    store_id = await insert_row(
        connection,
        image_store,
        name="demo-secondary-1",
        image_provider_name="NFS",
        protocol="nfs",
        url="nfs://10.0.0.10/export/secondary",
        data_center_id=zone_id,
        scope="ZONE",
        role="Image",
        uuid=new_uuid(),
        created=now,
        total_size=SECONDARY_BYTES,
        used_bytes=0,
        readonly=False,
    )
    place = {"data_center_id": zone_id}
    capacity = capacity_row(SECONDARY_STORAGE, store_id, SECONDARY_BYTES, place, now)
    await connection.execute(insert(op_host_capacity).values(**capacity))
    return store_id


async def _simulator_capabilities(connection: AsyncConnection) -> None:
    # The simulator's own install script adds this row; the guest limit is raised so one
    # host can carry the hundreds of VMs the sizing above allows.
    await insert_row(
        connection,
        hypervisor_capabilities,
        uuid=new_uuid(),
        hypervisor_type=HYPERVISOR,
        hypervisor_version="default",
        max_guests_limit=1000,
        security_group_enabled=1,
        max_data_volumes_limit=6,
        storage_motion_supported=1,
        vm_snapshot_enabled=True,
    )


async def seed_infrastructure(
    connection: AsyncConnection, hosts: int, now: datetime
) -> Infrastructure:
    """Zone, pod, cluster, `hosts` Simulator hosts, primary and secondary storage."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise ValueError(f"hosts must be between 1 and {MAX_HOSTS}")
    zone_id, zone_uuid = await _zone(connection, now)
    pod_id, cluster_id = await _pod_and_cluster(connection, zone_id, now)
    await _system_vm_ips(connection, zone_id, pod_id)
    place = {"data_center_id": zone_id, "pod_id": pod_id, "cluster_id": cluster_id}
    host_ids = await _hosts(connection, hosts, place, now)
    pool_id = await _primary_storage(connection, place, host_ids, now)
    store_id = await _image_store(connection, zone_id, now)
    await _simulator_capabilities(connection)
    return Infrastructure(zone_id, zone_uuid, pod_id, cluster_id, host_ids, pool_id, store_id)
