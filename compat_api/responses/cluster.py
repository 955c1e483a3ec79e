"""The `cluster` response object."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.responses.javamap import java_hash_map

SHAPE = shapes.of("listClusters")


def present(row: Any, details: dict[str, str]) -> dict[str, Any]:
    return SHAPE.build(
        {
            "id": row.uuid,
            "name": row.name,
            "podid": row.pod_uuid,
            "podname": row.pod_name,
            "zoneid": row.zone_uuid,
            "zonename": row.zone_name,
            "hypervisortype": row.hypervisor_type,
            "clustertype": row.cluster_type,
            "allocationstate": row.allocation_state,
            "managedstate": row.managed_state,
            "cpuovercommitratio": details.get("cpuOvercommitRatio"),
            "memoryovercommitratio": details.get("memoryOvercommitRatio"),
            "resourcedetails": java_hash_map(details),
            "arch": row.arch,
            "hasannotations": False,
        }
    )
