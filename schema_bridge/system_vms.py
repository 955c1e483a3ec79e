"""Console proxies and secondary storage VMs (`vm_instance` of those types), as listSystemVms
reads them, with each one's agent host (the host row the VM registers as)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.comments import annotated
from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    data_center,
    host,
    host_pod_ref,
    service_offering,
    table,
    vm_instance,
    vm_template,
)

console_proxy = table("console_proxy")
secondary_storage_vm = table("secondary_storage_vm")
volumes = table("volumes")
SYSTEM_TYPES = ("SecondaryStorageVm", "ConsoleProxy")
# The agent host type each system VM registers as.
AGENT_TYPES = {"SecondaryStorageVm": "SecondaryStorageVM", "ConsoleProxy": "ConsoleProxy"}


@dataclass(frozen=True)
class SystemVmFilter:
    id: int | None = None
    name: str | None = None
    state: str | None = None
    type: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    host_id: int | None = None
    storage_id: int | None = None
    keyword: str | None = None
    admin_annotations: bool = False


def _columns(admin_annotations: bool, agent: Any) -> tuple[Any, ...]:
    v, cp, ss = vm_instance.c, console_proxy.c, secondary_storage_vm.c
    proxy = v.type == "ConsoleProxy"
    return (
        v.id,
        v.uuid,
        v.type,
        v.name,
        v.host_name.label("vm_host_name"),
        v.state,
        v.created,
        v.hypervisor_type,
        v.dynamically_scalable,
        v.private_ip_address,
        v.private_mac_address,
        case((proxy, cp.public_ip_address), else_=ss.public_ip_address).label("public_ip"),
        case((proxy, cp.public_mac_address), else_=ss.public_mac_address).label("public_mac"),
        case((proxy, cp.public_netmask), else_=ss.public_netmask).label("public_netmask"),
        cp.active_session,
        data_center.c.uuid.label("zone_uuid"),
        data_center.c.name.label("zone_name"),
        data_center.c.dns1,
        data_center.c.dns2,
        host_pod_ref.c.uuid.label("pod_uuid"),
        host_pod_ref.c.name.label("pod_name"),
        host.c.uuid.label("host_uuid"),
        host.c.name.label("host_name"),
        host.c.status.label("host_status"),
        host.c.resource_state.label("host_resource_state"),
        agent.c.status.label("agent_state"),
        agent.c.disconnected.label("agent_disconnected"),
        agent.c.version.label("agent_version"),
        vm_template.c.uuid.label("template_uuid"),
        vm_template.c.name.label("template_name"),
        service_offering.c.uuid.label("offering_uuid"),
        service_offering.c.name.label("offering_name"),
        annotated(vm_instance.c.uuid, "SYSTEM_VM", admin_annotations).label("has_annotations"),
    )


def _base(f: SystemVmFilter) -> Select[Any]:
    v = vm_instance.c
    agent = host.alias("agent")
    agent_type = case(
        *((v.type == vm_type, kind) for vm_type, kind in AGENT_TYPES.items()), else_=None
    )
    agent_on = and_(
        agent.c.name == v.host_name,
        agent.c.data_center_id == v.data_center_id,
        agent.c.type == agent_type,
        agent.c.removed.is_(None),
    )
    return (
        select(*_columns(f.admin_annotations, agent))
        .select_from(vm_instance.join(data_center, data_center.c.id == v.data_center_id))
        .outerjoin(console_proxy, console_proxy.c.id == v.id)
        .outerjoin(secondary_storage_vm, secondary_storage_vm.c.id == v.id)
        .outerjoin(host_pod_ref, host_pod_ref.c.id == v.pod_id)
        .outerjoin(host, host.c.id == v.host_id)
        .outerjoin(agent, agent_on)
        .outerjoin(vm_template, vm_template.c.id == v.vm_template_id)
        .outerjoin(service_offering, service_offering.c.id == v.service_offering_id)
        .where(v.removed.is_(None))
        .order_by(v.id)
    )


def _query(f: SystemVmFilter) -> Select[Any]:
    v = vm_instance.c
    query = _base(f)
    if f.type is not None:
        # The type is compared as MySQL compares it: `consoleproxy` names ConsoleProxy.
        query = query.where(func.lower(v.type) == f.type.lower())
    else:
        query = query.where(v.type.in_(SYSTEM_TYPES))
    if f.name is not None:
        query = query.where(func.lower(v.host_name) == f.name.lower())
    for column, wanted in (
        (v.id, f.id),
        (v.state, f.state),
        (v.data_center_id, f.zone_id),
        (v.pod_id, f.pod_id),
        (v.host_id, f.host_id),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.storage_id is not None:
        query = query.where(
            exists().where(volumes.c.instance_id == v.id, volumes.c.pool_id == f.storage_id)
        )
    if f.keyword:
        pattern = like_escape(f.keyword)
        query = query.where(
            or_(v.host_name.like(pattern, escape="\\"), v.state.like(pattern, escape="\\"))
        )
    return query


async def system_vms_page(
    conn: AsyncConnection, f: SystemVmFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)


async def id_by_uuid(conn: AsyncConnection, uuid: str) -> int | None:
    """Any VM's id, as the API layer resolves the uuid before the list filters the type."""
    found = await conn.scalar(select(vm_instance.c.id).where(vm_instance.c.uuid == uuid))
    return None if found is None else int(found)
