"""The `capacity` response object: one capacity type of a zone, pod or cluster."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from compat_api import shapes

SHAPE = shapes.of("listCapacity")
OBJECT_NAME = "capacity"
# Capacity.CAPACITY_TYPE_* ordinals and the names the response carries for them.
NAMES = {
    0: "MEMORY",
    1: "CPU",
    2: "STORAGE",
    3: "STORAGE_ALLOCATED",
    4: "VIRTUAL_NETWORK_PUBLIC_IP",
    5: "PRIVATE_IP",
    6: "SECONDARY_STORAGE",
    7: "VLAN",
    8: "DIRECT_ATTACHED_PUBLIC_IP",
    9: "LOCAL_STORAGE",
    10: "VIRTUAL_NETWORK_IPV6_SUBNET",
    19: "GPU",
    90: "CPU_CORE",
}


def percent(used: float, total: float) -> str:
    """Java's DecimalFormat("##.##"): at most two decimals, half-even, no trailing zeros."""
    if not total:
        return "0"
    value = Decimal(repr(float(used) / float(total) * 100)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    text = format(value, "f").rstrip("0").rstrip(".")
    return text or "0"


def present(values: dict[str, Any]) -> dict[str, Any]:
    used, total = values["capacityused"], values["capacitytotal"]
    return SHAPE.build(
        {
            **values,
            "name": NAMES.get(values["type"], str(values["type"])),
            "percentused": percent(used, total),
        }
    )
