"""The `host` response object, with the capacity figures CloudStack derives for it."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from compat_api import shapes
from schema_bridge.infra import HostTag

SHAPE = shapes.of("listHosts")
DETAIL_VIEWS = ("all", "capacity", "events", "stats", "min")

# Agent status → the events its state machine accepts there (Status.java, in declaration order).
STATUS_EVENTS: dict[str, tuple[str, ...]] = {
    "Creating": ("AgentConnected", "Error"),
    "Connecting": (
        "AgentConnected",
        "Ready",
        "PingTimeout",
        "ShutdownRequested",
        "HostDown",
        "Ping",
        "ManagementServerDown",
        "AgentDisconnected",
    ),
    "Up": (
        "PingTimeout",
        "AgentDisconnected",
        "ShutdownRequested",
        "HostDown",
        "Ping",
        "AgentConnected",
        "ManagementServerDown",
        "StartAgentRebalance",
        "Remove",
    ),
    "Disconnected": (
        "ShutdownRequested",
        "PingTimeout",
        "AgentConnected",
        "Ping",
        "HostDown",
        "ManagementServerDown",
        "WaitedTooLong",
        "Remove",
        "AgentDisconnected",
    ),
    "Down": (
        "AgentConnected",
        "Remove",
        "ManagementServerDown",
        "AgentDisconnected",
        "PingTimeout",
        "HostDown",
    ),
    "Alert": (
        "AgentConnected",
        "Ping",
        "Remove",
        "ManagementServerDown",
        "AgentDisconnected",
        "ShutdownRequested",
        "HostDown",
    ),
    "Rebalancing": (
        "RebalanceFailed",
        "RebalanceCompleted",
        "ManagementServerDown",
        "AgentConnected",
        "AgentDisconnected",
    ),
    "Error": ("AgentConnected",),
}


@dataclass(frozen=True)
class Overcommit:
    """CPU and memory over-provisioning factors of the host's cluster."""

    cpu: float
    memory: float


def java_float(value: float) -> float:
    """The value as a Java `float` holds it (capacity maths is done in single precision)."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def decimal_format(value: float) -> str:
    """Java's DecimalFormat("#.##"): at most two decimals, half-even, no trailing zeros."""
    rounded = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    text = f"{rounded:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(used: float, total: float) -> str:
    if total == 0:
        # Java float division by zero gives NaN or Infinity, which DecimalFormat prints so.
        return ("\ufffd" if used == 0 else "\u221e") + "%"
    return decimal_format(java_float(java_float(used) / java_float(total) * 100.0)) + "%"


def last_pinged(raw: int | None) -> datetime | None:
    # `last_ping` holds milliseconds shifted right by 10, yet the server reads it back as
    # milliseconds; clients therefore see a date in early 1970, and so do we.
    return None if raw is None else datetime.fromtimestamp(int(raw) / 1000, UTC)


def _capacity(row: Any, factors: Overcommit) -> dict[str, Any]:
    memory = int(row.mem_used or 0) + int(row.mem_reserved or 0)
    cpu = int(row.cpu_used or 0) + int(row.cpu_reserved or 0)
    memory_total = java_float(int(row.ram or 0) * java_float(factors.memory))
    cpu_total = java_float((row.cpus or 0) * (row.speed or 0) * java_float(factors.cpu))
    cpu_share = percent(cpu, cpu_total)
    return {
        "memorytotal": int(memory_total),
        "memorywithoverprovisioning": decimal_format(memory_total),
        "memoryallocated": memory,
        "memoryallocatedbytes": memory,
        "memoryallocatedpercentage": percent(memory, memory_total),
        "hypervisorversion": row.hypervisor_version,
        "cpuallocatedvalue": cpu,
        "cpuallocated": cpu_share,
        "cpuallocatedpercentage": cpu_share,
        "cpuallocatedwithoverprovisioning": cpu_share,
        "cpuwithoverprovisioning": decimal_format(cpu_total),
        "hahost": False,
    }


def _tags(tags: list[HostTag]) -> dict[str, Any]:
    if not tags:
        return {}
    explicit = [t.tag for t in tags if not t.implicit]
    implicit = [t.tag for t in tags if t.implicit]
    return {
        "hosttags": ",".join(t.tag for t in tags),
        "explicithosttags": ",".join(explicit) or None,
        "implicithosttags": ",".join(implicit) or None,
        "istagarule": any(t.is_rule for t in tags),
    }


def _identity(row: Any) -> dict[str, Any]:
    return {
        "id": row.uuid,
        "name": row.name,
        "state": row.status,
        "disconnected": row.disconnected,
        "type": row.type,
        "ipaddress": row.private_ip_address,
        "zoneid": row.zone_uuid,
        "podid": row.pod_uuid,
        "version": row.version,
        "hypervisor": row.hypervisor_type,
        "cpusockets": row.cpu_sockets,
        "cpunumber": row.cpus,
        "cpuspeed": row.speed,
        "capabilities": row.capabilities,
        "lastpinged": last_pinged(row.last_ping),
        "managementserverid": row.mshost_uuid,
        "managementservername": row.mshost_name,
        "clusterid": row.cluster_uuid,
        "islocalstorageactive": False,
        "created": row.created,
        "removed": row.removed,
        "resourcestate": row.resource_state,
        "arch": row.arch,
        "hasannotations": False,
        # Without HA or out-of-band management configured the server still answers these.
        "hostha": {"haenable": False, "hastate": "Disabled"},
        "outofbandmanagement": {"powerstate": "Disabled", "enabled": False},
        # memoryallocated is a Java primitive: present even when capacity is not asked for.
        "memoryallocated": 0,
    }


def present(
    row: Any, views: frozenset[str], factors: Overcommit, tags: list[HostTag]
) -> dict[str, Any]:
    values = _identity(row)
    wants = views & {"all", "capacity", "stats", "events"}
    if wants:
        values.update(zonename=row.zone_name, podname=row.pod_name)
        if row.cluster_id:
            values.update(clustername=row.cluster_name, clustertype=row.cluster_type)
    routing = row.type == "Routing"
    if routing:
        values["cpunumber"] = int((row.cpus or 0) * java_float(factors.cpu))
    if routing and views & {"all", "capacity"}:
        values.update(_capacity(row, factors))
        values.update(_tags(tags))
    if views & {"all", "events"}:
        values["events"] = "; ".join(STATUS_EVENTS.get(row.status, ())) or None
    return SHAPE.build(values)
