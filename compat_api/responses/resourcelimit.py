"""The `resourcelimit` response object, and which limit applies to an account or domain.

CloudStack keeps explicit limits in `resource_limit`; an owner without a row gets the
max.account.* / max.domain.* / max.project.* setting (built-in default when the setting has no
row). Root-admin accounts and the ROOT domain are never limited. Storage limits are stored in
bytes and the settings are in GiB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from compat_api import shapes
from compat_api.caller import pretty_path

SHAPE = shapes.of("listResourceLimits")
UNLIMITED = -1
GIB = 1024**3


@dataclass(frozen=True)
class ResourceType:
    name: str
    ordinal: int
    setting: str  # suffix of the max.<owner>.<suffix> settings
    storage: bool
    account_default: int
    domain_default: int


# In CloudStack's ordinal order; the last five exist in newer releases than the schema's.
TYPES: tuple[ResourceType, ...] = (
    ResourceType("user_vm", 0, "user.vms", False, 20, 40),
    ResourceType("public_ip", 1, "public.ips", False, 20, 40),
    ResourceType("volume", 2, "volumes", False, 20, 40),
    ResourceType("snapshot", 3, "snapshots", False, 20, 40),
    ResourceType("template", 4, "templates", False, 20, 40),
    ResourceType("project", 5, "projects", False, 10, 50),
    ResourceType("network", 6, "networks", False, 20, 40),
    ResourceType("vpc", 7, "vpcs", False, 20, 40),
    ResourceType("cpu", 8, "cpus", False, 40, 80),
    ResourceType("memory", 9, "memory", False, 40960, 81920),
    ResourceType("primary_storage", 10, "primary.storage", True, 200, 400),
    ResourceType("secondary_storage", 11, "secondary.storage", True, 400, 800),
    ResourceType("backup", 12, "backups", False, 20, 40),
    ResourceType("backup_storage", 13, "backup.storage", True, 400, 800),
    ResourceType("bucket", 14, "buckets", False, 20, 20),
    ResourceType("object_storage", 15, "object.storage", True, 400, 400),
    ResourceType("gpu", 16, "gpus", False, 20, 20),
)
BY_NAME = {t.name: t for t in TYPES}
BY_ORDINAL = {t.ordinal: t for t in TYPES}


def setting_names() -> list[str]:
    return [f"max.{owner}.{t.setting}" for owner in ("account", "domain", "project") for t in TYPES]


@dataclass(frozen=True)
class Defaults:
    """Setting values by name, as read from `configuration` (None = no usable row)."""

    values: dict[str, int | None]

    def of(self, owner: str, kind: ResourceType) -> int:
        """The default limit in stored units (bytes for storage), -1 for unlimited."""
        value = self.values.get(f"max.{owner}.{kind.setting}")
        if value is None:
            value = kind.domain_default if owner == "domain" else kind.account_default
        if value < 0:
            return UNLIMITED
        return value * GIB if kind.storage else value


def account_limit(
    explicit: int | None, kind: ResourceType, *, root_admin: bool, project: bool, defaults: Defaults
) -> int:
    if root_admin:
        return UNLIMITED
    if explicit is not None:
        return explicit
    return defaults.of("project" if project else "account", kind)


def domain_limit(
    chain: list[dict[str, int]], kind: ResourceType, *, is_root: bool, defaults: Defaults
) -> int:
    """`chain`: explicit limits of the domain and its parents below ROOT, nearest first."""
    if is_root:
        return UNLIMITED
    for explicit in chain:
        if kind.name in explicit:
            return explicit[kind.name]
    return defaults.of("domain", kind)


def java_float(value: float) -> str:
    """Java's Float.toString for ordinary magnitudes: the shortest float32 round-trip."""
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    if "e" in text or "E" in text:
        text = repr(float(text))
    return text if "." in text else f"{text}.0"


@dataclass(frozen=True)
class Owner:
    """Who a limit belongs to: an account (or project) within a domain, or a domain."""

    domain_uuid: str
    domain_name: str
    domain_path: str
    account_name: str | None = None
    project_uuid: str | None = None
    project_name: str | None = None


def present(owner: Owner, kind: ResourceType, max_value: int, tag: str | None) -> dict[str, Any]:
    shown = max_value
    if kind.storage and max_value >= 0:
        shown = -(-max_value // GIB)  # CloudStack rounds stored bytes up to whole GiB
    values: dict[str, Any] = {
        "account": owner.account_name,
        "projectid": owner.project_uuid,
        "project": owner.project_name,
        "domainid": owner.domain_uuid,
        "domain": owner.domain_name,
        "domainpath": pretty_path(owner.domain_path),
        "resourcetype": str(kind.ordinal),
        "resourcetypename": kind.name,
        "max": shown,
        "tag": tag,
    }
    return SHAPE.build(values)
