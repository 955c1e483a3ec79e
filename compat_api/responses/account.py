"""The `account` response object: identity, role, limits and counts, and its users."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compat_api import shapes
from compat_api.caller import pretty_path
from compat_api.render import JavaMap
from compat_api.responses import user
from compat_api.responses.resourcelimit import (
    BY_NAME,
    GIB,
    UNLIMITED,
    Defaults,
    ResourceType,
    account_limit,
    java_float,
)
from schema_bridge.directory import AccountStats

SHAPE = shapes.of("listAccounts")
UNLIMITED_TEXT = "Unlimited"
ROOT_ADMIN_TYPE = 1
PROJECT_TYPE = 5
# Field prefix in the response → resource type, in the response's own order.
LIMIT_FIELDS = (
    ("vm", "user_vm"),
    ("ip", "public_ip"),
    ("volume", "volume"),
    ("snapshot", "snapshot"),
    ("backup", "backup"),
    ("backupstorage", "backup_storage"),
    ("template", "template"),
    ("project", "project"),
    ("network", "network"),
    ("vpc", "vpc"),
    ("cpu", "cpu"),
    ("memory", "memory"),
    ("gpu", "gpu"),
    ("primarystorage", "primary_storage"),
    ("secondarystorage", "secondary_storage"),
    ("bucket", "bucket"),
    ("objectstorage", "object_storage"),
)


@dataclass(frozen=True)
class AccountExtras:
    """Everything besides the account row that its response needs."""

    limits: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stats: AccountStats = field(default_factory=AccountStats)
    details: dict[str, str] = field(default_factory=dict)
    users: list[Any] = field(default_factory=list)


def _limit_fields(
    prefix: str, kind: ResourceType, limit: int, count: int, full: bool
) -> dict[str, Any]:
    hidden = full or limit == UNLIMITED
    if kind.name == "secondary_storage":
        # A float total, as CloudStack computes it (bytes / GiB in single precision).
        total_text = java_float(count / GIB)
        avail: str = java_float(limit // GIB - float(total_text))
        return {
            f"{prefix}limit": UNLIMITED_TEXT if hidden else str(limit // GIB),
            f"{prefix}total": float(total_text),
            f"{prefix}available": UNLIMITED_TEXT if hidden else avail,
        }
    shown_limit, total = (limit // GIB, count // GIB) if kind.storage else (limit, count)
    return {
        f"{prefix}limit": UNLIMITED_TEXT if hidden else str(shown_limit),
        f"{prefix}total": total,
        f"{prefix}available": UNLIMITED_TEXT if hidden else str(shown_limit - total),
    }


def limit_values(row: Any, extras: AccountExtras, defaults: Defaults) -> dict[str, Any]:
    """The <type>limit/total/available triples plus the VM state counts."""
    root_admin = row.role_type == "Admin" or row.type == ROOT_ADMIN_TYPE
    full = row.type == ROOT_ADMIN_TYPE
    out: dict[str, Any] = {}
    for prefix, name in LIMIT_FIELDS:
        kind = BY_NAME[name]
        limit = account_limit(
            extras.limits.get(name),
            kind,
            root_admin=root_admin,
            project=row.type == PROJECT_TYPE,
            defaults=defaults,
        )
        out.update(_limit_fields(prefix, kind, limit, extras.counts.get(name, 0), full))
    out.update(vmstopped=extras.stats.stopped, vmrunning=extras.stats.running)
    return out


def present(
    row: Any, extras: AccountExtras, defaults: Defaults | None, *, full_view: bool
) -> dict[str, Any]:
    """`defaults` None leaves the resource fields out (details=min)."""
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.account_name,
        "accounttype": int(row.type),
        "roleid": row.role_uuid,
        "roletype": row.role_type,
        "rolename": row.role_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
        "defaultzoneid": row.default_zone_uuid,
        "receivedbytes": extras.stats.received,
        "sentbytes": extras.stats.sent,
        "state": row.state,
        "iscleanuprequired": bool(row.cleanup_needed),
        "created": row.created,
        "user": [user.present_nested(u, full=full_view) for u in extras.users],
        "networkdomain": row.network_domain,
        "accountdetails": JavaMap(extras.details) if extras.details else None,
        "isdefault": bool(row.default),
        "apikeyaccess": _key_access(row.api_key_access) if full_view else None,
    }
    if defaults is not None:
        values.update(limit_values(row, extras, defaults))
    else:
        # A Java primitive float in the response class: present even when limits are not.
        values["secondarystoragetotal"] = 0.0
    return SHAPE.build(values)


def _key_access(value: Any) -> str:
    return user.key_access(None if value is None else bool(value))
