"""The `pod` response object."""

from __future__ import annotations

import ipaddress
from typing import Any

from compat_api import shapes

SHAPE = shapes.of("listPods")
RANGE_SHAPE = SHAPE.child("ipranges")
UNTAGGED = "vlan://untagged"


def netmask(cidr_size: int | None) -> str | None:
    if cidr_size is None or not 0 <= cidr_size <= 32:
        return None
    return str(ipaddress.IPv4Network(f"0.0.0.0/{cidr_size}").netmask)


def _ranges(description: str | None) -> list[list[str]]:
    """The pod's IP ranges; CloudStack keeps them in `description` as
    `start-end[-forsystemvms[-vlan]]` items separated by commas."""
    if not description:
        return []
    out = []
    for item in description.split(","):
        parts = item.split("-")
        start = parts[0] if parts else ""
        end = parts[1] if len(parts) > 1 else ""
        for_system_vms = parts[2] if len(parts) > 2 else "0"
        tagged = len(parts) > 3 and parts[3] != "untagged"
        out.append([start, end, for_system_vms, f"vlan://{parts[3]}" if tagged else UNTAGGED])
    return out


def present(row: Any) -> dict[str, Any]:
    ranges = _ranges(row.description)
    return SHAPE.build(
        {
            "id": row.uuid,
            "name": row.name,
            "zoneid": row.zone_uuid,
            "zonename": row.zone_name,
            "gateway": row.gateway,
            "netmask": netmask(row.cidr_size),
            "ipranges": [
                RANGE_SHAPE.build(
                    {"startip": r[0], "endip": r[1], "forsystemvms": r[2], "vlanid": r[3]}
                )
                for r in ranges
            ],
            "startip": [r[0] for r in ranges],
            "endip": [r[1] for r in ranges],
            "forsystemvms": [r[2] for r in ranges],
            "vlanid": [r[3] for r in ranges],
            "allocationstate": row.allocation_state,
            "hasannotations": False,
        }
    )
