"""Demo catalogue: Simulator templates (with zone and image-store copies), compute and disk
offerings, and the global settings an API server reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import encryption
from schema_bridge.ids import VM_TEMPLATE_SEQ, allocate, new_uuid
from schema_bridge.seed_identity import increment_resource_count
from schema_bridge.seed_infra import HYPERVISOR, java_name_uuid
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    configuration,
    disk_offering,
    service_offering,
    template_store_ref,
    template_zone_ref,
    vm_template,
)

SYSTEM_ACCOUNT_ID: Final = 1
ADMIN_ACCOUNT_ID: Final = 2
GUEST_OS_DEBIAN_12: Final = 363
GUEST_OS_UBUNTU_2204: Final = 360
GUEST_OS_ROCKY_9: Final = 317
GIB: Final = 1024**3


@dataclass(frozen=True)
class _Template:
    name: str
    kind: str
    account_id: int | None  # None: the demo user's own template
    guest_os_id: int
    listed: bool  # public and featured
    file: str
    size_gib: int
    physical_mib: int


TEMPLATE_BASE_URL: Final = "https://download.example.org/templates"
TEMPLATES: Final = (
    _Template(
        "SystemVM Template (Simulator)", "SYSTEM", SYSTEM_ACCOUNT_ID, GUEST_OS_DEBIAN_12, False,
        "systemvmtemplate-4.20.2-x86_64-kvm.qcow2.bz2", 5, 600,
    ),
    _Template(
        "Ubuntu 22.04 LTS (Simulator)", "USER", ADMIN_ACCOUNT_ID, GUEST_OS_UBUNTU_2204, True,
        "ubuntu-22.04-server-cloudimg-amd64.qcow2", 10, 700,
    ),
    _Template(
        "Rocky Linux 9 (Simulator)", "USER", ADMIN_ACCOUNT_ID, GUEST_OS_ROCKY_9, True,
        "rocky-9-genericcloud-x86_64.qcow2", 10, 900,
    ),
    _Template(
        "alice-webserver", "USER", None, GUEST_OS_UBUNTU_2204, False,
        "alice-webserver.qcow2", 20, 1500,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Catalog:
    system_template_id: int
    template_ids: tuple[int, ...]
    user_template_id: int
    small_offering_id: int
    medium_offering_id: int
    large_offering_id: int
    fixed_disk_offering_id: int
    custom_disk_offering_id: int


# (name, cpus, MHz, MiB) of the compute offerings, each with its own compute-only disk offering.
COMPUTE_OFFERINGS: Final = (
    ("Small VM", 1, 500, 512),
    ("Medium VM", 2, 1000, 2048),
    ("Large VM", 4, 2000, 8192),
)
# Global settings: (name, value, category, component, scope). Hidden/Secure values are encrypted.
SETTINGS: Final = (
    ("default.page.size", "500", "Advanced", "ManagementServer", None),
    ("api.key.access", "true", "Advanced", "ApiServer", "Domain"),
    ("cpu.overprovisioning.factor", "4.0", "Advanced", "CapacityManager", "Cluster"),
    ("mem.overprovisioning.factor", "1.0", "Advanced", "CapacityManager", "Cluster"),
    ("storage.overprovisioning.factor", "2", "Storage", "StorageManager", "StoragePool"),
    ("instance.name", "VM", "Hidden", "AgentManager", None),
    ("expunge.delay", "86400", "Advanced", "UserVmManager", None),
    ("expunge.interval", "86400", "Advanced", "UserVmManager", None),
    ("job.expire.minutes", "1440", "Advanced", "AsyncJobManager", None),
    ("job.cancel.threshold.minutes", "60", "Advanced", "AsyncJobManager", None),
    ("max.account.user.vms", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.public.ips", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.volumes", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.templates", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.snapshots", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.networks", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.vpcs", "20", "Account Defaults", "management-server", "Account"),
    ("max.account.projects", "10", "Account Defaults", "management-server", "Account"),
    (
        "user.password.encoders.order",
        "PBKDF2,SHA256SALT,MD5,LDAP,SAML2,PLAINTEXT",
        "Advanced",
        "management-server",
        None,
    ),
    ("user.password.encoders.exclude", "MD5,LDAP,PLAINTEXT", "Advanced", "management-server", None),
    ("allow.public.user.templates", "true", "Advanced", "TemplateManager", "Account"),
    ("allow.user.create.projects", "true", "Project Defaults", "ProjectManager", "Domain"),
    ("guest.domain.suffix", "cloud.internal", "Network", "NetworkOrchestrationService", "Zone"),
    ("network.throttling.rate", "200", "Network", "NetworkOrchestrationService", "Zone"),
    ("vm.network.throttling.rate", "200", "Network", "NetworkOrchestrationService", "Zone"),
    ("vm.allocation.algorithm", "random", "Advanced", "management-server", None),
    ("cloud.identifier", None, "Hidden", "management-server", None),
    # The web UI reads it at login (listConfigurations) and fails on an empty answer.
    ("hypervisor.custom.display.name", "Custom", "Advanced", "management-server", None),
)


def template_unique_name(template_id: int, account_id: int, name: str) -> str:
    """VMTemplateVO's generated unique name: id-account-nameUUID(name + millis)."""
    return f"{template_id}-{account_id}-{java_name_uuid(name + str(int(time.time() * 1000)))}"


def _template_values(
    template: _Template, template_id: int, owner: int, now: datetime
) -> dict[str, Any]:
    system = template.kind == "SYSTEM"
    unique_name = (
        f"routing-{template_id}"
        if system
        else template_unique_name(template_id, owner, template.name)
    )
    return {
        "id": template_id,
        "unique_name": unique_name,
        "name": template.name,
        "uuid": new_uuid(),
        "public": int(template.listed),
        "featured": int(template.listed),
        "type": template.kind,
        "hvm": 1,
        "bits": 64,
        "url": f"{TEMPLATE_BASE_URL}/{template.file}",
        "format": "QCOW2",
        "created": now,
        "account_id": owner,
        "display_text": template.name,
        "enable_password": int(not system),
        "enable_sshkey": 0,
        "guest_os_id": template.guest_os_id,
        "bootable": 1,
        "cross_zones": int(system),
        "extractable": int(not system),
        "hypervisor_type": HYPERVISOR,
        "size": template.size_gib * GIB,
        "state": "Active",
        "update_count": 0,
        "arch": "x86_64",
    }


def _store_ref_values(template: dict[str, Any], store_id: int, physical_mib: int) -> dict[str, Any]:
    """The template's Ready copy on the image store (template_store_ref)."""
    path = f"template/tmpl/{template['account_id']}/{template['id']}/{template['uuid']}.qcow2"
    return {
        "store_id": store_id,
        "template_id": template["id"],
        "created": template["created"],
        "last_updated": template["created"],
        "download_pct": 100,
        "size": template["size"],
        "store_role": "Image",
        "physical_size": physical_mib * 1024**2,
        "download_state": "DOWNLOADED",
        "install_path": path,
        "url": template["url"],
        "state": "Ready",
        "destroyed": False,
        "update_count": 0,
        "updated": template["created"],
    }


async def _template(
    connection: AsyncConnection,
    template: _Template,
    owner: int,
    place: dict[str, int],
    now: datetime,
) -> int:
    template_id = await allocate(connection, VM_TEMPLATE_SEQ)
    values = _template_values(template, template_id, owner, now)
    await insert_row(connection, vm_template, **values)
    zone_ref = {"zone_id": place["zone_id"], "created": now, "last_updated": now}
    await insert_row(connection, template_zone_ref, template_id=template_id, **zone_ref)
    store_ref = _store_ref_values(values, place["store_id"], template.physical_mib)
    await insert_row(connection, template_store_ref, **store_ref)
    return template_id


async def _compute_offering(
    connection: AsyncConnection, spec: tuple[str, int, int, int], now: datetime
) -> int:
    name, cpus, speed, memory = spec
    disk_id = await insert_row(
        connection,
        disk_offering,
        name=name,
        uuid=new_uuid(),
        display_text=f"{cpus} vCPU, {memory} MB",
        disk_size=0,
        customized=True,
        created=now,
        state="Active",
        cache_mode=None,
        provisioning_type="thin",
        compute_only=True,
    )
    return await insert_row(
        connection,
        service_offering,
        cpu=cpus,
        speed=speed,
        ram_size=memory,
        nw_rate=None,
        mc_rate=None,
        uuid=new_uuid(),
        name=name,
        display_text=f"{cpus} vCPU, {speed} MHz, {memory} MB",
        created=now,
        state="Active",
        disk_offering_id=disk_id,
    )


async def _disk_offering(connection: AsyncConnection, name: str, size: int, now: datetime) -> int:
    return await insert_row(
        connection,
        disk_offering,
        name=name,
        uuid=new_uuid(),
        display_text=name,
        disk_size=size,
        customized=size == 0,
        created=now,
        state="Active",
        cache_mode=None,
        provisioning_type="thin",
    )


def _setting_row(
    setting: tuple[str, str | None, str, str, str | None], key: str | None
) -> dict[str, Any]:
    name, value, category, component, scope = setting
    value = new_uuid() if value is None else value
    stored = encryption.encrypt(value, key) if category in ("Hidden", "Secure") else value
    return {
        "category": category,
        "instance": "DEFAULT",
        "component": component,
        "name": name,
        "value": stored,
        "default_value": value,
        "scope": scope,
        "is_dynamic": True,
        "display_text": name.replace(".", " ").capitalize(),
    }


async def seed_settings(connection: AsyncConnection, key: str | None) -> None:
    """Insert the settings we rely on; a row already present gets our value."""
    existing = set((await connection.scalars(select(configuration.c.name))).all())
    for setting in SETTINGS:
        row = _setting_row(setting, key)
        if row["name"] in existing:
            await connection.execute(
                update(configuration)
                .where(configuration.c.name == row["name"])
                .values(value=row["value"])
            )
        else:
            await connection.execute(insert(configuration).values(**row))


async def seed_catalog(
    connection: AsyncConnection, zone_id: int, store_id: int, user_account_id: int, now: datetime
) -> Catalog:
    """Templates, offerings; the user's own template is counted against its limits."""
    place = {"zone_id": zone_id, "store_id": store_id}
    ids = [
        await _template(connection, template, template.account_id or user_account_id, place, now)
        for template in TEMPLATES
    ]
    user_template = TEMPLATES[-1]
    await increment_resource_count(connection, user_account_id, "template", 1)
    secondary = user_template.physical_mib * 1024**2
    await increment_resource_count(connection, user_account_id, "secondary_storage", secondary)
    offerings = [await _compute_offering(connection, spec, now) for spec in COMPUTE_OFFERINGS]
    fixed = await _disk_offering(connection, "Data 20 GB", 20 * GIB, now)
    custom = await _disk_offering(connection, "Data Custom", 0, now)
    return Catalog(
        system_template_id=ids[0],
        template_ids=tuple(ids[1:3]),
        user_template_id=ids[3],
        small_offering_id=offerings[0],
        medium_offering_id=offerings[1],
        large_offering_id=offerings[2],
        fixed_disk_offering_id=fixed,
        custom_disk_offering_id=custom,
    )
