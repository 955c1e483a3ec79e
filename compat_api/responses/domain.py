"""The `domain` response object: the domain's place in the tree and its resource usage."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.caller import pretty_path
from compat_api.responses.account import LIMIT_FIELDS, UNLIMITED_TEXT
from compat_api.responses.resourcelimit import (
    BY_NAME,
    GIB,
    UNLIMITED,
    Defaults,
    ResourceType,
    domain_limit,
    java_float,
)

SHAPE = shapes.of("listDomains")
DETAIL_VIEWS = ("all", "resource", "min")
ROOT_DOMAIN_ID = 1


def _usage(prefix: str, kind: ResourceType, limit: int, count: int, hidden: bool) -> dict[str, Any]:
    """<prefix>limit/total/available; storage in GiB, secondary storage total as a float."""
    if kind.name == "secondary_storage":
        total_text = java_float(count / GIB)
        return {
            f"{prefix}limit": UNLIMITED_TEXT if hidden else str(limit // GIB),
            f"{prefix}total": float(total_text),
            f"{prefix}available": UNLIMITED_TEXT
            if hidden
            else java_float(limit // GIB - float(total_text)),
        }
    shown, total = (limit // GIB, count // GIB) if kind.storage else (limit, count)
    return {
        f"{prefix}limit": UNLIMITED_TEXT if hidden else str(shown),
        f"{prefix}total": total,
        f"{prefix}available": UNLIMITED_TEXT if hidden else str(shown - total),
    }


def usage_values(
    row: Any, chain: list[dict[str, int]], counts: dict[str, int], defaults: Defaults, full: bool
) -> dict[str, Any]:
    """Limits as inherited down the tree (ROOT is never limited), with the domain's counts."""
    is_root = row.id == ROOT_DOMAIN_ID
    out: dict[str, Any] = {}
    for prefix, name in LIMIT_FIELDS:
        kind = BY_NAME[name]
        limit = domain_limit(chain, kind, is_root=is_root, defaults=defaults)
        # Root admins looking at ROOT see "Unlimited" whatever the numbers say.
        hidden = (full and is_root) or limit == UNLIMITED
        out.update(_usage(prefix, kind, limit, counts.get(name, 0), hidden))
    return out


def present(row: Any, usage: dict[str, Any] | None) -> dict[str, Any]:
    """`usage` None leaves the resource fields out (details=min)."""
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "level": row.level,
        "parentdomainid": row.parent_uuid,
        "parentdomainname": row.parent_name,
        "haschild": int(row.child_count or 0) > 0,
        "networkdomain": row.network_domain,
        "path": pretty_path(row.path),
        "state": row.state,
        "created": row.created,
        # A Java primitive float: present (0.0) even when resources are not asked for.
        "secondarystoragetotal": 0.0,
        "hasannotations": False,
        **(usage or {}),
    }
    return SHAPE.build(values)
