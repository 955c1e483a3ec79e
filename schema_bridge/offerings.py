"""Compute, disk and network offerings, and what offerings of every kind keep in details:
the domains and zones they are limited to (`domainid`/`zoneid` rows) and free-form settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    account,
    data_center,
    disk_offering,
    disk_offering_details,
    domain,
    network_offering_details,
    network_offerings,
    ntwk_offering_service_map,
    service_offering,
    service_offering_details,
    vm_instance,
)

# Detail rows that place an offering rather than describe it.
PLACEMENT_DETAILS = ("domainid", "zoneid")


@dataclass(frozen=True)
class OfferingFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    state: str | None = None
    # Offerings limited to this domain / usable in this zone.
    domain_id: int | None = None
    zone_id: int | None = None
    # Offerings limited to domains are shown only if one of them is among these; None = all.
    visible_domain_ids: tuple[int, ...] | None = None
    system: bool = False
    system_vm_type: str | None = None
    local_storage: bool | None = None
    # Compute offerings a VM may change to: not its own, same root-disk strictness.
    exclude_id: int | None = None
    strict: bool | None = None
    disk_offering_id: int | None = None


def _detail(details: Table, owner: ColumnElement[Any], name: str) -> Select[Any]:
    # Detail tables name their owner column differently; column 1 is always that column.
    owner_column = list(details.c)[1]
    return select(details.c.id).where(owner_column == owner, details.c.name == name)


def placement_clauses(
    details: Table, owner: ColumnElement[Any], f: OfferingFilter
) -> list[ColumnElement[bool]]:
    """Domain and zone restrictions of any offering kind, from its details table."""
    clauses: list[ColumnElement[bool]] = []
    dedicated = _detail(details, owner, "domainid")
    if f.visible_domain_ids is not None:
        allowed = dedicated.where(details.c.value.in_([str(i) for i in f.visible_domain_ids]))
        clauses.append(or_(~exists(dedicated), exists(allowed)))
    if f.domain_id is not None:
        clauses.append(exists(dedicated.where(details.c.value == str(f.domain_id))))
    if f.zone_id is not None:
        zoned = _detail(details, owner, "zoneid")
        clauses.append(or_(~exists(zoned), exists(zoned.where(details.c.value == str(f.zone_id)))))
    return clauses


def _common_clauses(
    offering: Table, f: OfferingFilter, name: ColumnElement[Any], text: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [offering.c.removed.is_(None)]
    if f.ids:
        clauses.append(offering.c.id.in_(f.ids))
    if f.name is not None:
        clauses.append(name == f.name)
    if f.keyword:
        pattern = like_escape(f.keyword)
        clauses.append(or_(name.like(pattern, escape="\\"), text.like(pattern, escape="\\")))
    if f.state is not None:
        clauses.append(offering.c.state == f.state)
    if f.local_storage is not None:
        clauses.append(disk_offering.c.use_local_storage.is_(f.local_storage))
    return clauses


def _service_query(f: OfferingFilter) -> Select[Any]:
    disk = disk_offering
    query = (
        select(
            service_offering,
            disk.c.uuid.label("disk_uuid"),
            disk.c.name.label("disk_name"),
            disk.c.display_text.label("disk_display_text"),
            disk.c.disk_size,
            disk.c.tags,
            disk.c.use_local_storage,
            disk.c.provisioning_type,
            disk.c.customized_iops,
            disk.c.min_iops,
            disk.c.max_iops,
            disk.c.hv_ss_reserve,
            disk.c.cache_mode,
            disk.c.encrypt,
            disk.c.compute_only,
            *(c for c in disk.c if c.name.startswith(("bytes_", "iops_"))),
        )
        .select_from(
            service_offering.outerjoin(disk, disk.c.id == service_offering.c.disk_offering_id)
        )
        .where(service_offering.c.system_use.is_(f.system))
        .where(
            *_common_clauses(
                service_offering, f, service_offering.c.name, service_offering.c.display_text
            )
        )
        .where(*placement_clauses(service_offering_details, service_offering.c.id, f))
        .order_by(service_offering.c.sort_key, service_offering.c.id)
    )
    if f.system_vm_type is not None:
        query = query.where(service_offering.c.vm_type == f.system_vm_type)
    if f.exclude_id is not None:
        query = query.where(service_offering.c.id != f.exclude_id)
    if f.strict is not None:
        query = query.where(service_offering.c.disk_offering_strictness.is_(f.strict))
    if f.disk_offering_id is not None:
        query = query.where(service_offering.c.disk_offering_id == f.disk_offering_id)
    return query


async def service_offerings(
    conn: AsyncConnection, f: OfferingFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _service_query(f), offset, limit)


def _disk_query(f: OfferingFilter) -> Select[Any]:
    return (
        select(disk_offering)
        # Compute-only disk offerings belong to one compute offering and are never listed.
        .where(disk_offering.c.compute_only.is_(False))
        .where(
            *_common_clauses(disk_offering, f, disk_offering.c.name, disk_offering.c.display_text)
        )
        .where(*placement_clauses(disk_offering_details, disk_offering.c.id, f))
        .order_by(disk_offering.c.sort_key, disk_offering.c.id)
    )


async def disk_offerings(
    conn: AsyncConnection, f: OfferingFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _disk_query(f), offset, limit)


@dataclass
class Placement:
    """The domains and zones an offering is limited to, and its other details."""

    domains: list[tuple[str, str]] = field(default_factory=list)  # (uuid, name)
    zones: list[tuple[str, str]] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)


async def placements(
    conn: AsyncConnection, details: Table, ids: Iterable[int], displayed_only: bool
) -> dict[int, Placement]:
    """Each offering's placement and details; `displayed_only` hides details not meant for
    users (display=0)."""
    wanted = sorted(set(ids))
    out = {offering_id: Placement() for offering_id in wanted}
    if not wanted:
        return out
    owner_column = list(details.c)[1]
    query = select(owner_column, details.c.name, details.c.value, details.c.display).where(
        owner_column.in_(wanted)
    )
    rows = (await conn.execute(query.order_by(details.c.id))).all()
    places: dict[str, set[int]] = {"domainid": set(), "zoneid": set()}
    for _, name, value, _ in rows:
        if name in places and str(value).isdigit():
            places[name].add(int(value))
    names = await _names(conn, places["domainid"], places["zoneid"])
    for offering_id, name, value, display in rows:
        target = out[int(offering_id)]
        if name in PLACEMENT_DETAILS:
            found = names[name].get(int(value)) if str(value).isdigit() else None
            if found is not None:
                (target.domains if name == "domainid" else target.zones).append(found)
        elif display or not displayed_only:
            target.details[str(name)] = "" if value is None else str(value)
    return out


async def _names(
    conn: AsyncConnection, domain_ids: set[int], zone_ids: set[int]
) -> dict[str, dict[int, tuple[str, str]]]:
    out: dict[str, dict[int, tuple[str, str]]] = {"domainid": {}, "zoneid": {}}
    for key, rows, ids in (("domainid", domain, domain_ids), ("zoneid", data_center, zone_ids)):
        if ids:
            query = select(rows.c.id, rows.c.uuid, rows.c.name).where(rows.c.id.in_(ids))
            for id_, uuid, name in (await conn.execute(query)).all():
                out[key][int(id_)] = (str(uuid), str(name))
    return out


@dataclass(frozen=True)
class VmOffering:
    """A live VM's owner and the compute offering it runs with."""

    account_id: int
    domain_path: str
    offering_id: int
    dynamic: bool
    strict: bool
    disk_offering_id: int | None
    local_storage: bool


async def vm_offering(conn: AsyncConnection, vm_id: int) -> VmOffering | None:
    so = service_offering
    query = (
        select(
            vm_instance.c.account_id,
            domain.c.path,
            so.c.id,
            so.c.cpu,
            so.c.speed,
            so.c.ram_size,
            so.c.disk_offering_strictness,
            so.c.disk_offering_id,
            disk_offering.c.use_local_storage,
        )
        .select_from(vm_instance.join(account, account.c.id == vm_instance.c.account_id))
        .join(domain, domain.c.id == account.c.domain_id)
        .join(so, so.c.id == vm_instance.c.service_offering_id)
        .outerjoin(disk_offering, disk_offering.c.id == so.c.disk_offering_id)
        .where(vm_instance.c.id == vm_id, vm_instance.c.removed.is_(None))
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    account_id, path, offering_id, cpu, speed, ram, strict, disk_id, local = tuple(row)
    return VmOffering(
        account_id=int(account_id),
        domain_path=str(path),
        offering_id=int(offering_id),
        # Custom offerings leave something open, so the VM may keep them with new values.
        dynamic=cpu is None or speed is None or ram is None,
        strict=bool(strict),
        disk_offering_id=None if disk_id is None else int(disk_id),
        local_storage=bool(local),
    )


@dataclass(frozen=True)
class NetworkOfferingFilter:
    placement: OfferingFilter = field(default_factory=OfferingFilter)
    display_text: str | None = None
    traffic_type: str | None = None
    guest_type: str | None = None
    availability: str | None = None
    tags: str | None = None
    tagged: bool | None = None
    default: bool | None = None
    specify_vlan: bool | None = None
    specify_ip_ranges: bool | None = None
    for_vpc: bool | None = None
    routing_mode: str | None = None
    # Offerings providing every one of these services.
    services: tuple[str, ...] = ()


def _offering_service(service: str) -> ColumnElement[bool]:
    return exists(
        select(ntwk_offering_service_map.c.id).where(
            ntwk_offering_service_map.c.network_offering_id == network_offerings.c.id,
            ntwk_offering_service_map.c.service == service,
        )
    )


def _offering_clauses(f: NetworkOfferingFilter) -> list[ColumnElement[bool]]:
    o = network_offerings
    p = f.placement
    # System offerings (Public, Management, ...) are never listed.
    clauses: list[ColumnElement[bool]] = [o.c.removed.is_(None), o.c.system_only == 0]
    if p.ids:
        clauses.append(o.c.id.in_(p.ids))
    if p.name is not None:
        clauses.append(o.c.name == p.name)
    if p.keyword:
        pattern = like_escape(p.keyword)
        clauses.append(
            or_(o.c.name.like(pattern, escape="\\"), o.c.display_text.like(pattern, escape="\\"))
        )
    equal = (
        (o.c.state, p.state),
        (o.c.display_text, f.display_text),
        (func.lower(o.c.traffic_type), f.traffic_type and f.traffic_type.lower()),
        (func.lower(o.c.guest_type), f.guest_type and f.guest_type.lower()),
        (o.c.availability, f.availability),
        (o.c.tags, f.tags),
        (o.c.routing_mode, f.routing_mode),
    )
    clauses.extend(column == value for column, value in equal if value is not None)
    flags = (
        (o.c.default, f.default),
        (o.c.specify_vlan, f.specify_vlan),
        (o.c.specify_ip_ranges, f.specify_ip_ranges),
        (o.c.for_vpc, f.for_vpc),
    )
    clauses.extend(column == int(value) for column, value in flags if value is not None)
    if f.tagged is not None:
        clauses.append(o.c.tags.is_not(None) if f.tagged else o.c.tags.is_(None))
    clauses.extend(_offering_service(service) for service in f.services)
    clauses.extend(placement_clauses(network_offering_details, o.c.id, p))
    return clauses


async def network_offering_page(
    conn: AsyncConnection, f: NetworkOfferingFilter, offset: int, limit: int | None
) -> Page:
    o = network_offerings
    query = (
        select(o, service_offering.c.uuid.label("service_offering_uuid"))
        .select_from(
            o.outerjoin(service_offering, service_offering.c.id == o.c.service_offering_id)
        )
        .where(*_offering_clauses(f))
        .order_by(o.c.sort_key, o.c.id)
    )
    return await fetch_page(conn, query, offset, limit)


async def offering_services(
    conn: AsyncConnection, offering_ids: Iterable[int]
) -> dict[int, list[tuple[str, str | None]]]:
    """Each offering's (service, provider) pairs, in the order they were added."""
    wanted = sorted(set(offering_ids))
    out: dict[int, list[tuple[str, str | None]]] = {i: [] for i in wanted}
    if wanted:
        m = ntwk_offering_service_map
        query = (
            select(m.c.network_offering_id, m.c.service, m.c.provider)
            .where(m.c.network_offering_id.in_(wanted))
            .order_by(m.c.id)
        )
        for offering_id, service, provider in (await conn.execute(query)).all():
            out[int(offering_id)].append((str(service), provider))
    return out


async def default_router_offering_uuid(conn: AsyncConnection) -> str | None:
    """The system offering routers get when a network offering names none."""
    query = select(service_offering.c.uuid).where(
        service_offering.c.unique_name == "Cloud.Com-SoftwareRouter",
        service_offering.c.removed.is_(None),
    )
    value = (await conn.execute(query)).scalar()
    return None if value is None else str(value)
