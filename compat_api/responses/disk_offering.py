"""The `diskoffering` response object."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.responses.javamap import java_hash_map
from compat_api.responses.service_offering import GIB, THROTTLING, placement_fields
from schema_bridge.offerings import Placement

SHAPE = shapes.of("listDiskOfferings")


def present(row: Any, place: Placement) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "state": row.state,
        "displaytext": row.display_text,
        "disksize": int(row.disk_size or 0) // GIB,
        "created": row.created,
        "iscustomized": bool(row.customized),
        "iscustomizediops": None if row.customized_iops is None else bool(row.customized_iops),
        "miniops": row.min_iops,
        "maxiops": row.max_iops,
        "hypervisorsnapshotreserve": row.hv_ss_reserve,
        "tags": row.tags,
        "storagetype": "local" if row.use_local_storage else "shared",
        "provisioningtype": row.provisioning_type,
        "cacheMode": row.cache_mode,
        "displayoffering": bool(row.display_offering),
        "disksizestrictness": bool(row.disk_size_strictness),
        "encrypt": bool(row.encrypt),
        "details": java_hash_map(place.details) if place.details else None,
        "hasannotations": False,
        **placement_fields(place),
    }
    values.update({name: getattr(row, column) for name, column in THROTTLING.items()})
    return SHAPE.build(values)
