"""The `storagepool` response object (listStoragePools has no detailed facts: the field
order is the one listApis gives)."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.facts import facts_for

OBJECT_NAME = "storagepool"
SHAPE = shapes.Shape(OBJECT_NAME, facts_for("listStoragePools").response_field_names, {})


def java_double(value: float) -> str:
    """Java's Double.toString for the plain values a factor takes (2.0, 1.5)."""
    return repr(float(value))


def present(row: Any, tags: list[tuple[str, bool]], overprovisioning: float) -> dict[str, Any]:
    allocated = int(row.allocated_used or 0) + int(row.allocated_reserved or 0)
    return SHAPE.build(
        {
            "id": row.uuid,
            "zoneid": row.zone_uuid,
            "zonename": row.zone_name,
            "podid": row.pod_uuid,
            "podname": row.pod_name,
            "name": row.name,
            "ipaddress": row.host_address,
            "path": row.path,
            "created": row.created,
            "type": row.pool_type,
            "clusterid": row.cluster_uuid,
            "clustername": row.cluster_name,
            "disksizetotal": row.capacity_bytes,
            "disksizeallocated": allocated,
            "disksizeused": row.used_bytes,
            "capacityiops": row.capacity_iops,
            "usediops": row.used_iops,
            "tags": ",".join(tag for tag, _ in tags) or None,
            "istagarule": any(rule for _, rule in tags) if tags else None,
            "state": row.status,
            "scope": row.scope,
            "overprovisionfactor": java_double(overprovisioning),
            "hypervisor": row.hypervisor,
            "provider": row.storage_provider_name,
            "managed": bool(row.managed) if row.managed is not None else None,
            "hasannotations": False,
        }
    )
