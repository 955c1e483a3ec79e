"""Volumes as listVolumes reads them: one joined query per page, tags in one more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import (
    account,
    cluster,
    data_center,
    disk_offering,
    domain,
    host_pod_ref,
    projects,
    service_offering,
    storage_pool,
    user_vm,
    vm_instance,
    vm_template,
    volumes,
)
from schema_bridge.vms import pending_jobs_query, tags_query

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
# Volumes of system VMs (routers, SSVM, console proxy) are listed only on request.
USER_VM: Final = "User"
template = vm_template.alias("template")
iso = vm_template.alias("iso")


@dataclass(frozen=True)
class VolumeFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    volume_type: str | None = None
    state: str | None = None
    vm_id: int | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    pool_id: int | None = None
    disk_offering_id: int | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    display: bool | None = True
    system_vms: bool = False


@dataclass
class VolumeRecord:
    row: AnyRow
    tags: list[AnyRow]
    job: AnyRow | None = None


@dataclass(frozen=True)
class VolumePage:
    records: list[VolumeRecord]
    total: int


def _columns() -> list[Any]:
    return [
        volumes,
        account.c.account_name,
        account.c.type.label("account_type"),
        domain.c.uuid.label("domain_uuid"),
        domain.c.name.label("domain_name"),
        domain.c.path.label("domain_path"),
        projects.c.uuid.label("project_uuid"),
        projects.c.name.label("project_name"),
        data_center.c.uuid.label("zone_uuid"),
        data_center.c.name.label("zone_name"),
        vm_instance.c.uuid.label("vm_uuid"),
        vm_instance.c.name.label("vm_name"),
        vm_instance.c.display_name.label("vm_display_name"),
        vm_instance.c.state.label("vm_state"),
        vm_instance.c.type.label("vm_type"),
        vm_instance.c.hypervisor_type.label("vm_hypervisor"),
        service_offering.c.uuid.label("offering_uuid"),
        service_offering.c.name.label("offering_name"),
        service_offering.c.display_text.label("offering_display_text"),
        disk_offering.c.uuid.label("disk_offering_uuid"),
        disk_offering.c.name.label("disk_offering_name"),
        disk_offering.c.display_text.label("disk_offering_display_text"),
        disk_offering.c.use_local_storage,
        disk_offering.c.bytes_read_rate,
        disk_offering.c.bytes_write_rate,
        disk_offering.c.iops_read_rate,
        disk_offering.c.iops_write_rate,
        storage_pool.c.uuid.label("pool_uuid"),
        storage_pool.c.name.label("pool_name"),
        storage_pool.c.hypervisor.label("pool_hypervisor"),
        cluster.c.uuid.label("cluster_uuid"),
        cluster.c.name.label("cluster_name"),
        cluster.c.hypervisor_type.label("cluster_hypervisor"),
        host_pod_ref.c.uuid.label("pod_uuid"),
        host_pod_ref.c.name.label("pod_name"),
        template.c.uuid.label("template_uuid"),
        template.c.name.label("template_name"),
        template.c.display_text.label("template_display_text"),
        template.c.extractable.label("template_extractable"),
        template.c.type.label("template_type"),
        iso.c.uuid.label("iso_uuid"),
        iso.c.name.label("iso_name"),
        iso.c.display_text.label("iso_display_text"),
    ]


def _joined() -> Select[Any]:
    return (
        select(*_columns())
        .select_from(volumes.join(account, account.c.id == volumes.c.account_id))
        .join(domain, domain.c.id == volumes.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == volumes.c.account_id)
        .outerjoin(data_center, data_center.c.id == volumes.c.data_center_id)
        .outerjoin(vm_instance, vm_instance.c.id == volumes.c.instance_id)
        .outerjoin(user_vm, user_vm.c.id == volumes.c.instance_id)
        .outerjoin(service_offering, service_offering.c.id == vm_instance.c.service_offering_id)
        .outerjoin(disk_offering, disk_offering.c.id == volumes.c.disk_offering_id)
        .outerjoin(storage_pool, storage_pool.c.id == volumes.c.pool_id)
        .outerjoin(cluster, cluster.c.id == storage_pool.c.cluster_id)
        .outerjoin(host_pod_ref, host_pod_ref.c.id == storage_pool.c.pod_id)
        .outerjoin(template, template.c.id == volumes.c.template_id)
        .outerjoin(iso, iso.c.id == volumes.c.iso_id)
    )


def _filters(f: VolumeFilter) -> list[Any]:
    clauses: list[Any] = [volumes.c.removed.is_(None)]
    pairs = (
        (volumes.c.name, f.name),
        (volumes.c.instance_id, f.vm_id),
        (volumes.c.data_center_id, f.zone_id),
        (volumes.c.pod_id, f.pod_id),
        (storage_pool.c.cluster_id, f.cluster_id),
        (volumes.c.pool_id, f.pool_id),
        (volumes.c.disk_offering_id, f.disk_offering_id),
        (volumes.c.display_volume, f.display),
    )
    clauses += [column == value for column, value in pairs if value is not None]
    if f.ids:
        clauses.append(volumes.c.id.in_(f.ids))
    if f.keyword:
        clauses.append(volumes.c.name.like(like_escape(f.keyword), escape="\\"))
    # MySQL compares these case-insensitively; lower() gives SQLite the same answer.
    if f.volume_type is not None:
        clauses.append(func.lower(volumes.c.volume_type) == f.volume_type.lower())
    if f.state is not None:
        clauses.append(func.lower(volumes.c.state) == f.state.lower())
    if not f.system_vms:
        clauses.append(or_(volumes.c.instance_id.is_(None), vm_instance.c.type == USER_VM))
    return clauses


def _query(f: VolumeFilter) -> Select[Any]:
    query = _joined().where(*_filters(f))
    return restrict(query, volumes.c.account_id, volumes.c.domain_id, f.account_ids, f.domain_ids)


async def volume_page(
    conn: AsyncConnection, f: VolumeFilter, offset: int, limit: int | None
) -> VolumePage:
    """One page of volumes in id order, with the total of all matching volumes."""
    query = _query(f)
    total = int(
        await conn.scalar(
            select(func.count()).select_from(query.with_only_columns(volumes.c.id).subquery())
        )
        or 0
    )
    if total == 0 or offset >= total:
        return VolumePage([], total)
    sliced = query.order_by(volumes.c.id).offset(offset)
    if limit is not None:
        sliced = sliced.limit(limit)
    rows = list((await conn.execute(sliced)).all())
    records = {int(row.id): VolumeRecord(row, []) for row in rows}
    ids = list(records)
    for tag in (await conn.execute(tags_query("Volume", ids))).all():
        records[int(tag.resource_id)].tags.append(tag)
    for job in (await conn.execute(pending_jobs_query("Volume", ids))).all():
        records[int(job.instance_id)].job = job
    return VolumePage(list(records.values()), total)
