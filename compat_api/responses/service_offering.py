"""The `serviceoffering` response object (a compute offering and its root-disk settings)."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.responses.javamap import java_hash_map
from schema_bridge.offerings import Placement

SHAPE = shapes.of("listServiceOfferings")
GIB = 1024**3
# Disk I/O throttling: response field → disk_offering column.
THROTTLING = {
    "diskBytesReadRate": "bytes_read_rate",
    "diskBytesReadRateMax": "bytes_read_rate_max",
    "diskBytesReadRateMaxLength": "bytes_read_rate_max_length",
    "diskBytesWriteRate": "bytes_write_rate",
    "diskBytesWriteRateMax": "bytes_write_rate_max",
    "diskBytesWriteRateMaxLength": "bytes_write_rate_max_length",
    "diskIopsReadRate": "iops_read_rate",
    "diskIopsReadRateMax": "iops_read_rate_max",
    "diskIopsReadRateMaxLength": "iops_read_rate_max_length",
    "diskIopsWriteRate": "iops_write_rate",
    "diskIopsWriteRateMax": "iops_write_rate_max",
    "diskIopsWriteRateMaxLength": "iops_write_rate_max_length",
}


def placement_fields(place: Placement) -> dict[str, Any]:
    """domainid/domain and zoneid/zone: comma-separated lists, absent when unrestricted."""
    return {
        "domainid": ",".join(uuid for uuid, _ in place.domains) or None,
        "domain": ",".join(name for _, name in place.domains) or None,
        "zoneid": ",".join(uuid for uuid, _ in place.zones) or None,
        "zone": ",".join(name for _, name in place.zones) or None,
    }


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _disk(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "storagetype": "local" if row.use_local_storage else "shared",
        "provisioningtype": row.provisioning_type,
        "storagetags": row.tags,
        "iscustomizediops": _flag(row.customized_iops),
        "miniops": row.min_iops,
        "maxiops": row.max_iops,
        "hypervisorsnapshotreserve": row.hv_ss_reserve,
        "cacheMode": row.cache_mode,
        "encryptroot": _flag(row.encrypt),
        "rootdisksize": row.disk_size // GIB if row.disk_size else None,
    }
    values.update({name: getattr(row, column) for name, column in THROTTLING.items()})
    # A compute-only disk offering is private to this offering, so clients are not told of it.
    if row.disk_uuid is not None and not row.compute_only:
        values.update(
            diskofferingid=row.disk_uuid,
            diskofferingname=row.disk_name,
            diskofferingdisplaytext=row.disk_display_text,
        )
    return values


def present(row: Any, place: Placement) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "state": row.state,
        "displaytext": row.display_text,
        "cpunumber": row.cpu,
        "cpuspeed": row.speed,
        "memory": row.ram_size,
        "created": row.created,
        "offerha": bool(row.ha_enabled),
        "limitcpuuse": bool(row.limit_cpu_use),
        "isvolatile": bool(row.is_volatile),
        "hosttags": row.host_tag,
        "issystem": bool(row.system_use),
        "defaultuse": bool(row.default_use),
        "systemvmtype": row.vm_type,
        "networkrate": row.nw_rate,
        "deploymentplanner": row.deployment_planner,
        "serviceofferingdetails": java_hash_map(place.details) if place.details else None,
        # Custom offerings leave CPU, speed or memory for the deployer to choose.
        "iscustomized": row.cpu is None or row.speed is None or row.ram_size is None,
        "dynamicscalingenabled": bool(row.dynamic_scaling_enabled),
        "diskofferingstrictness": bool(row.disk_offering_strictness),
        "hasannotations": False,
        **placement_fields(place),
        **_disk(row),
    }
    return SHAPE.build(values)
