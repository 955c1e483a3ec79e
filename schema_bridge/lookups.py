"""uuid → internal id for the entities API parameters name."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import table

_MAX_ID = 2**63

# listApis names a parameter's entity by its response class; these are the tables behind them.
ENTITY_TABLES = {
    "AccountResponse": "account",
    "AffinityGroupResponse": "affinity_group",
    "AsyncJobResponse": "async_job",
    "ClusterResponse": "cluster",
    "DiskOfferingResponse": "disk_offering",
    "DomainResponse": "domain",
    "EventResponse": "event",
    "GuestOSCategoryResponse": "guest_os_category",
    "GuestOSResponse": "guest_os",
    "HostResponse": "host",
    "IPAddressResponse": "user_ip_address",
    "ImageStoreResponse": "image_store",
    "InstanceGroupResponse": "instance_group",
    "NetworkOfferingResponse": "network_offerings",
    "NetworkResponse": "networks",
    "PhysicalNetworkResponse": "physical_network",
    "PodResponse": "host_pod_ref",
    "ProjectResponse": "projects",
    "RoleResponse": "roles",
    "SecurityGroupResponse": "security_group",
    "ServiceOfferingResponse": "service_offering",
    "SnapshotResponse": "snapshots",
    "StoragePoolResponse": "storage_pool",
    "TemplateResponse": "vm_template",
    "UserResponse": "user",
    "UserVmResponse": "vm_instance",
    "VlanIpRangeResponse": "vlan",
    "VolumeResponse": "volumes",
    "VpcResponse": "vpc",
    "ZoneResponse": "data_center",
}


async def id_for(conn: AsyncConnection, entity: str, ref: str) -> int | None:
    """The internal id of `ref` (a uuid, or a numeric id for old params), removed rows
    included, as the server's parameter processor looks them up."""
    rows = table(ENTITY_TABLES[entity])
    if ref.isdigit() and int(ref) >= _MAX_ID:
        return None  # no row can have it, and SQLite cannot even bind it
    if ref.isdigit():
        query = select(rows.c.id).where(rows.c.id == int(ref))
    else:
        query = select(rows.c.id).where(rows.c.uuid == ref)
    value = (await conn.execute(query)).scalar()
    return None if value is None else int(value)
