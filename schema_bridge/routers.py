"""Virtual routers (`domain_router` with their `vm_instance` rows), as listRouters reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.comments import annotated
from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import (
    account,
    data_center,
    domain,
    domain_router,
    host,
    host_pod_ref,
    projects,
    service_offering,
    table,
    vm_instance,
    vm_template,
    vpc,
)

nics = table("nics")
PROJECT_ACCOUNT_TYPE = 5
# listRouters lists only this role (internal load balancer VMs have their own command).
VIRTUAL_ROUTER = "VIRTUAL_ROUTER"


@dataclass(frozen=True)
class RouterFilter:
    id: int | None = None
    name: str | None = None
    state: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    host_id: int | None = None
    network_id: int | None = None
    vpc_id: int | None = None
    for_vpc: bool | None = None
    version: str | None = None
    keyword: str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True
    admin_annotations: bool = False


def _columns(admin_annotations: bool) -> tuple[Any, ...]:
    v, r = vm_instance.c, domain_router.c
    return (
        v.id,
        v.uuid,
        v.name,
        v.instance_name,
        v.state,
        v.created,
        v.hypervisor_type,
        r.public_ip_address,
        r.public_mac_address,
        r.public_netmask,
        r.guest_ip_address,
        r.guest_netmask,
        r.is_redundant_router,
        r.redundant_state,
        r.role,
        r.template_version,
        r.scripts_version,
        r.software_version,
        data_center.c.uuid.label("zone_uuid"),
        data_center.c.name.label("zone_name"),
        data_center.c.dns1,
        data_center.c.dns2,
        data_center.c.ip6_dns1,
        data_center.c.ip6_dns2,
        host_pod_ref.c.uuid.label("pod_uuid"),
        host_pod_ref.c.name.label("pod_name"),
        host.c.uuid.label("host_uuid"),
        host.c.name.label("host_name"),
        host.c.status.label("host_status"),
        host.c.resource_state.label("host_resource_state"),
        vm_template.c.uuid.label("template_uuid"),
        vm_template.c.name.label("template_name"),
        vm_template.c.arch,
        service_offering.c.uuid.label("offering_uuid"),
        service_offering.c.name.label("offering_name"),
        vpc.c.uuid.label("vpc_uuid"),
        vpc.c.name.label("vpc_name"),
        account.c.account_name,
        account.c.type.label("account_type"),
        domain.c.uuid.label("domain_uuid"),
        domain.c.name.label("domain_name"),
        domain.c.path.label("domain_path"),
        projects.c.uuid.label("project_uuid"),
        projects.c.name.label("project_name"),
        annotated(vm_instance.c.uuid, "VR", admin_annotations).label("has_annotations"),
    )


def _base(f: RouterFilter) -> Select[Any]:
    v, r = vm_instance.c, domain_router.c
    return (
        select(*_columns(f.admin_annotations))
        .select_from(domain_router.join(vm_instance, v.id == r.id))
        .join(account, account.c.id == v.account_id)
        .join(domain, domain.c.id == v.domain_id)
        .join(data_center, data_center.c.id == v.data_center_id)
        .outerjoin(host_pod_ref, host_pod_ref.c.id == v.pod_id)
        .outerjoin(host, host.c.id == v.host_id)
        .outerjoin(vm_template, vm_template.c.id == v.vm_template_id)
        .outerjoin(service_offering, service_offering.c.id == v.service_offering_id)
        .outerjoin(vpc, vpc.c.id == r.vpc_id)
        .outerjoin(projects, projects.c.project_account_id == v.account_id)
        .where(v.removed.is_(None), r.role == VIRTUAL_ROUTER)
        .order_by(v.id)
    )


def _query(f: RouterFilter) -> Select[Any]:
    v, r = vm_instance.c, domain_router.c
    query = _base(f)
    for column, wanted in (
        (v.id, f.id),
        (v.instance_name, f.name),
        (v.state, f.state),
        (v.data_center_id, f.zone_id),
        (v.pod_id, f.pod_id),
        (host.c.cluster_id, f.cluster_id),
        (v.host_id, f.host_id),
        (r.vpc_id, f.vpc_id),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.for_vpc is not None:
        query = query.where(r.vpc_id.isnot(None) if f.for_vpc else r.vpc_id.is_(None))
    if f.network_id is not None:
        query = query.where(
            exists().where(
                nics.c.instance_id == v.id,
                nics.c.network_id == f.network_id,
                nics.c.removed.is_(None),
            )
        )
    if f.version is not None:
        query = query.where(r.template_version.like(f"Cloudstack Release {f.version}%"))
    if f.keyword:
        pattern = like_escape(f.keyword)
        columns = (v.name, v.instance_name, v.state, vpc.c.name, r.redundant_state)
        query = query.where(or_(*(c.like(pattern, escape="\\") for c in columns)))
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(query, v.account_id, v.domain_id, f.account_ids, f.domain_ids)


async def routers_page(
    conn: AsyncConnection, f: RouterFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)
