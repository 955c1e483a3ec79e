"""User VMs as listVirtualMachines reads them, a page at a time.

CloudStack reads `user_vm_view`, a fan-out of one row per NIC x volume x tag x group...
and merges rows per VM. Here a page costs a fixed number of queries whatever its size:
the page's ids (with the total), the VM rows joined to their owner, zone, host, template,
offering and OS, then NICs, root volumes, details, tags and pending jobs for those ids
at once. No per-VM query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from sqlalchemy import Row, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import (
    account,
    async_job,
    data_center,
    domain,
    guest_os,
    host,
    instance_group,
    instance_group_vm_map,
    networks,
    nics,
    projects,
    resource_tags,
    service_offering,
    storage_pool,
    user,
    user_vm,
    user_vm_details,
    vm_instance,
    vm_template,
    volumes,
    vpc,
)

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
# States a VM leaves the user's view in (allow.user.view.destroyed.vm is false by default).
GONE_STATES: Final = ("Destroyed", "Expunging")
PENDING: Final = 0


@dataclass(frozen=True)
class VmFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    state: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    host_id: int | None = None
    template_id: int | None = None
    service_offering_id: int | None = None
    network_id: int | None = None
    group_id: int | None = None
    hypervisor: str | None = None
    ha_enabled: bool | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    hide_gone: bool = True
    # None: shown and hidden VMs alike (root admins without displayvm).
    display: bool | None = True


@dataclass(frozen=True)
class NicRecord:
    nic: AnyRow
    network: AnyRow | None


@dataclass(frozen=True)
class RootVolume:
    device_id: int | None
    volume_type: str
    pool_type: str | None


@dataclass
class VmRecord:
    """One VM and what the response nests in it."""

    row: AnyRow
    nics: list[NicRecord] = field(default_factory=list)
    root: RootVolume | None = None
    details: dict[str, str] = field(default_factory=dict)
    tags: list[AnyRow] = field(default_factory=list)
    job: AnyRow | None = None


@dataclass(frozen=True)
class VmPage:
    records: list[VmRecord]
    total: int


def _state_clause(f: VmFilter) -> list[Any]:
    column = vm_instance.c.state
    clauses: list[Any] = []
    if f.state is not None and f.state.lower() == "present":
        clauses.append(column.notin_(GONE_STATES))
    elif f.state is not None:
        # MySQL compares states case-insensitively; lower() gives SQLite the same answer.
        clauses.append(func.lower(column) == f.state.lower())
    if f.hide_gone:
        clauses.append(column.notin_(GONE_STATES))
    return clauses


def _equalities(f: VmFilter) -> list[Any]:
    pairs = (
        (vm_instance.c.data_center_id, f.zone_id),
        (vm_instance.c.pod_id, f.pod_id),
        (vm_instance.c.host_id, f.host_id),
        (vm_instance.c.vm_template_id, f.template_id),
        (vm_instance.c.service_offering_id, f.service_offering_id),
        (vm_instance.c.hypervisor_type, f.hypervisor),
        (vm_instance.c.ha_enabled, f.ha_enabled),
    )
    return [column == value for column, value in pairs if value is not None]


def _filters(f: VmFilter) -> list[Any]:
    clauses = [vm_instance.c.type == "User", vm_instance.c.removed.is_(None)]
    clauses += _state_clause(f) + _equalities(f)
    if f.ids:
        clauses.append(vm_instance.c.id.in_(f.ids))
    if f.name is not None:
        clauses.append(vm_instance.c.name == f.name)
    if f.keyword:
        pattern = like_escape(f.keyword)
        clauses.append(
            or_(
                vm_instance.c.name.like(pattern, escape="\\"),
                vm_instance.c.display_name.like(pattern, escape="\\"),
            )
        )
    if f.display is not None:
        clauses.append(vm_instance.c.display_vm == f.display)
    if f.network_id is not None:
        on_network = and_(
            nics.c.instance_id == vm_instance.c.id,
            nics.c.network_id == f.network_id,
            nics.c.removed.is_(None),
        )
        clauses.append(exists().where(on_network))
    if f.group_id is not None:
        in_group = and_(
            instance_group_vm_map.c.instance_id == vm_instance.c.id,
            instance_group_vm_map.c.group_id == f.group_id,
        )
        clauses.append(exists().where(in_group))
    return clauses


def _id_query(f: VmFilter) -> Select[Any]:
    query = select(vm_instance.c.id).where(*_filters(f))
    return restrict(
        query, vm_instance.c.account_id, vm_instance.c.domain_id, f.account_ids, f.domain_ids
    )


async def _page_ids(
    conn: AsyncConnection, f: VmFilter, offset: int, limit: int | None
) -> tuple[list[int], int]:
    # Two cheap index reads beat COUNT(*) OVER (), which sorts every match for one page.
    query = _id_query(f)
    total = int(await conn.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if total == 0 or offset >= total:
        return [], total
    sliced = query.order_by(vm_instance.c.id).offset(offset)
    if limit is not None:
        sliced = sliced.limit(limit)
    return [int(i) for i in (await conn.scalars(sliced)).all()], total


iso = vm_template.alias("iso")
# Only the columns a response uses: the pure-Python driver pays for every value it decodes.
_VM_COLUMNS = tuple(
    vm_instance.c[name]
    for name in (
        "id", "uuid", "name", "display_name", "instance_name", "state", "created",
        "update_time", "ha_enabled", "hypervisor_type", "dynamically_scalable",
        "delete_protection", "display_vm",
    )
)  # fmt: skip
_NIC_COLUMNS = tuple(
    nics.c[name]
    for name in (
        "instance_id", "uuid", "ip4_address", "netmask", "gateway", "isolation_uri",
        "broadcast_uri", "default_nic", "mac_address", "ip6_gateway", "ip6_cidr",
        "ip6_address", "device_id",
    )
)  # fmt: skip


# What a VM response shows from its owner, zone, host, template, ISO, offering, OS, group.
_JOINED_COLUMNS = (
    user_vm.c.iso_id,
    account.c.account_name,
    account.c.type.label("account_type"),
    domain.c.uuid.label("domain_uuid"),
    domain.c.name.label("domain_name"),
    domain.c.path.label("domain_path"),
    projects.c.uuid.label("project_uuid"),
    projects.c.name.label("project_name"),
    user.c.uuid.label("user_uuid"),
    user.c.username,
    data_center.c.uuid.label("zone_uuid"),
    data_center.c.name.label("zone_name"),
    host.c.uuid.label("host_uuid"),
    host.c.name.label("host_name_"),
    host.c.status.label("host_status"),
    host.c.resource_state.label("host_resource_state"),
    vm_template.c.uuid.label("template_uuid"),
    vm_template.c.name.label("template_name"),
    vm_template.c.display_text.label("template_display_text"),
    vm_template.c.type.label("template_type"),
    vm_template.c.format.label("template_format"),
    vm_template.c.enable_password,
    vm_template.c.arch,
    iso.c.uuid.label("iso_uuid"),
    iso.c.name.label("iso_name"),
    iso.c.display_text.label("iso_display_text"),
    service_offering.c.uuid.label("offering_uuid"),
    service_offering.c.name.label("offering_name"),
    service_offering.c.cpu,
    service_offering.c.speed,
    service_offering.c.ram_size,
    guest_os.c.uuid.label("os_uuid"),
    guest_os.c.display_name.label("os_display_name"),
    instance_group.c.uuid.label("group_uuid"),
    instance_group.c.name.label("group_name"),
)


def _rows_query(ids: Sequence[int]) -> Select[Any]:
    return (
        select(*_VM_COLUMNS, *_JOINED_COLUMNS)
        .select_from(vm_instance.join(user_vm, user_vm.c.id == vm_instance.c.id))
        .join(account, account.c.id == vm_instance.c.account_id)
        .join(domain, domain.c.id == vm_instance.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == vm_instance.c.account_id)
        .outerjoin(user, user.c.id == vm_instance.c.user_id)
        .outerjoin(data_center, data_center.c.id == vm_instance.c.data_center_id)
        .outerjoin(host, host.c.id == vm_instance.c.host_id)
        .outerjoin(vm_template, vm_template.c.id == vm_instance.c.vm_template_id)
        .outerjoin(iso, iso.c.id == user_vm.c.iso_id)
        .outerjoin(service_offering, service_offering.c.id == vm_instance.c.service_offering_id)
        .outerjoin(guest_os, guest_os.c.id == vm_instance.c.guest_os_id)
        .outerjoin(instance_group_vm_map, instance_group_vm_map.c.instance_id == vm_instance.c.id)
        .outerjoin(instance_group, instance_group.c.id == instance_group_vm_map.c.group_id)
        .where(vm_instance.c.id.in_(ids))
    )


def _nics_query(ids: Sequence[int]) -> Select[Any]:
    # Networks are read separately: joined here, stale statistics after a bulk load can
    # make MariaDB walk every NIC of a network instead of the page's NICs.
    return (
        select(*_NIC_COLUMNS, nics.c.network_id)
        .where(nics.c.instance_id.in_(ids), nics.c.removed.is_(None))
        .order_by(nics.c.instance_id, nics.c.device_id, nics.c.id)
    )


def _networks_query(network_ids: set[int]) -> Select[Any]:
    return (
        select(
            networks.c.id,
            networks.c.uuid.label("network_uuid"),
            networks.c.name.label("network_name"),
            networks.c.traffic_type,
            networks.c.guest_type,
            vpc.c.uuid.label("vpc_uuid"),
            vpc.c.name.label("vpc_name"),
        )
        .select_from(networks.outerjoin(vpc, vpc.c.id == networks.c.vpc_id))
        .where(networks.c.id.in_(network_ids))
    )


def _roots_query(ids: Sequence[int]) -> Select[Any]:
    return select(
        volumes.c.instance_id,
        volumes.c.device_id,
        volumes.c.volume_type,
        volumes.c.pool_id,
    ).where(
        volumes.c.instance_id.in_(ids), volumes.c.volume_type == "ROOT", volumes.c.removed.is_(None)
    )


def tags_query(resource_type: str, ids: Sequence[int]) -> Select[Any]:
    """Tags of some resources of one type, with the owner fields a tag response shows."""
    return (
        select(
            resource_tags,
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            domain.c.path.label("domain_path"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
        )
        .select_from(resource_tags.join(account, account.c.id == resource_tags.c.account_id))
        .join(domain, domain.c.id == resource_tags.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == resource_tags.c.account_id)
        .where(resource_tags.c.resource_type == resource_type)
        .where(resource_tags.c.resource_id.in_(ids))
        .order_by(resource_tags.c.resource_id, resource_tags.c.id)
    )


def pending_jobs_query(instance_type: str, ids: Sequence[int]) -> Select[Any]:
    """The in-progress API job on each resource, which list items report as jobid/jobstatus."""
    return (
        select(async_job.c.instance_id, async_job.c.uuid, async_job.c.job_status)
        .where(async_job.c.instance_type == instance_type, async_job.c.instance_id.in_(ids))
        .where(async_job.c.job_status == PENDING, async_job.c.removed.is_(None))
        .order_by(async_job.c.id)
    )


async def _attach_nics(conn: AsyncConnection, records: dict[int, VmRecord]) -> None:
    rows = (await conn.execute(_nics_query(list(records)))).all()
    if not rows:
        return
    found = await conn.execute(_networks_query({int(row.network_id) for row in rows}))
    by_id = {int(network.id): network for network in found.all()}
    for row in rows:
        records[int(row.instance_id)].nics.append(NicRecord(row, by_id.get(int(row.network_id))))


async def _attach_roots(conn: AsyncConnection, records: dict[int, VmRecord]) -> None:
    roots = (await conn.execute(_roots_query(list(records)))).all()
    pool_ids = {int(row.pool_id) for row in roots if row.pool_id is not None}
    pools: dict[int, str] = {}
    if pool_ids:
        query = select(storage_pool.c.id, storage_pool.c.pool_type).where(
            storage_pool.c.id.in_(pool_ids)
        )
        pools = {int(i): str(kind) for i, kind in (await conn.execute(query)).all()}
    for row in roots:
        pool_type = pools.get(int(row.pool_id)) if row.pool_id is not None else None
        records[int(row.instance_id)].root = RootVolume(row.device_id, row.volume_type, pool_type)


async def _attach(conn: AsyncConnection, records: dict[int, VmRecord]) -> None:
    ids = list(records)
    await _attach_nics(conn, records)
    await _attach_roots(conn, records)
    details = select(user_vm_details.c.vm_id, user_vm_details.c.name, user_vm_details.c.value)
    details = details.where(user_vm_details.c.vm_id.in_(ids), user_vm_details.c.display.is_(True))
    for vm_id, name, value in (await conn.execute(details.order_by(user_vm_details.c.id))).all():
        records[int(vm_id)].details[str(name)] = str(value)
    for row in (await conn.execute(tags_query("UserVm", ids))).all():
        records[int(row.resource_id)].tags.append(row)
    for row in (await conn.execute(pending_jobs_query("VirtualMachine", ids))).all():
        records[int(row.instance_id)].job = row


async def vm_page(conn: AsyncConnection, f: VmFilter, offset: int, limit: int | None) -> VmPage:
    """One page of VMs in id order, with the total of all matching VMs."""
    ids, total = await _page_ids(conn, f, offset, limit)
    if not ids:
        return VmPage([], total)
    rows = {int(row.id): row for row in (await conn.execute(_rows_query(ids))).all()}
    records = {vm_id: VmRecord(rows[vm_id]) for vm_id in ids if vm_id in rows}
    await _attach(conn, records)
    return VmPage(list(records.values()), total)
