"""Public IP addresses as listPublicIpAddresses reads them.

CloudStack answers with the owned (allocated) addresses of the caller's scope plus, unless
`allocatedonly`, the Free addresses the owner could take; it sorts them numerically by
address and pages in memory. Here the matching ids are read with their addresses (a cheap,
narrow query), sorted and sliced, and only the page's rows are read in full.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import like_escape
from schema_bridge.public_ips import Claimant, usable_by
from schema_bridge.scoping import restrict
from schema_bridge.tables import (
    account,
    data_center,
    domain,
    firewall_rules,
    networks,
    physical_network,
    projects,
    resource_tags,
    table,
    user_ip_address,
    vlan,
    vm_instance,
    vpc,
)
from schema_bridge.vms import tags_query

PROJECT_ACCOUNT_TYPE: Final = 5
TAG_TYPE: Final = "PublicIpAddress"
annotation_rows = table("annotations")
associated = networks.alias("associated")
source = networks.alias("source")


@dataclass(frozen=True)
class IpFilter:
    vlan_type: str = "VirtualNetwork"
    # "Owned" part: allocated addresses, restricted to the scope when `scoped`.
    states: tuple[str, ...] = ()
    allocated_only: bool = True
    scoped: bool = True
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True
    # "Free" part (when not allocated_only): what this owner could claim.
    free_for: Claimant | None = None
    ids: tuple[int, ...] = ()
    address: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    vlan_id: int | None = None
    physical_network_id: int | None = None
    associated_network_id: int | None = None
    source_network_id: int | None = None
    vpc_id: int | None = None
    source_nat: bool | None = None
    static_nat: bool | None = None
    display: bool | None = None
    for_system_vms: bool = False
    tags: tuple[tuple[str, str], ...] = field(default=())


def _common(f: IpFilter) -> list[Any]:
    ip = user_ip_address.c
    clauses: list[Any] = [
        ip.removed.is_(None),
        vlan.c.vlan_type == f.vlan_type,
        vlan.c.removed.is_(None),
        ip.forsystemvms.is_(f.for_system_vms),
    ]
    pairs = (
        (ip.public_ip_address, f.address),
        (ip.data_center_id, f.zone_id),
        (ip.vlan_db_id, f.vlan_id),
        (ip.physical_network_id, f.physical_network_id),
        (ip.network_id, f.associated_network_id),
        (ip.source_network_id, f.source_network_id),
        (ip.vpc_id, f.vpc_id),
        (ip.source_nat, None if f.source_nat is None else int(f.source_nat)),
        (ip.one_to_one_nat, None if f.static_nat is None else int(f.static_nat)),
        (ip.display, f.display),
    )
    clauses += [column == value for column, value in pairs if value is not None]
    if f.ids:
        clauses.append(ip.id.in_(f.ids))
    if f.keyword and f.address is None:
        clauses.append(ip.public_ip_address.like(like_escape(f.keyword), escape="\\"))
    if f.tags:
        clauses.append(_tagged(f.tags))
    return clauses


def _tagged(tags: tuple[tuple[str, str], ...]) -> Any:
    pairs = or_(*(and_(resource_tags.c.key == k, resource_tags.c.value == v) for k, v in tags))
    return exists().where(
        resource_tags.c.resource_type == TAG_TYPE,
        resource_tags.c.resource_id == user_ip_address.c.id,
        pairs,
    )


def _owned(f: IpFilter) -> Select[Any]:
    ip = user_ip_address.c
    query = (
        select(ip.id, ip.public_ip_address)
        .select_from(user_ip_address.join(vlan, vlan.c.id == ip.vlan_db_id))
        .join(account, account.c.id == ip.account_id)
        .where(*_common(f), ip.allocated.is_not(None))
    )
    if f.states:
        query = query.where(ip.state.in_(f.states))
    elif f.allocated_only:
        query = query.where(ip.state == "Allocated")
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    if f.scoped:
        query = restrict(query, ip.account_id, ip.domain_id, f.account_ids, f.domain_ids)
    return query


def _free(f: IpFilter, who: Claimant) -> Select[Any]:
    ip = user_ip_address.c
    query = (
        select(ip.id, ip.public_ip_address)
        .select_from(user_ip_address.join(vlan, vlan.c.id == ip.vlan_db_id))
        .where(*_common(f), ip.state == "Free", usable_by(who))
    )
    if f.states:
        query = query.where(ip.state.in_(f.states))
    return query


def _numeric(address: str) -> tuple[int, int]:
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return (9, 0)
    return (parsed.version, int(parsed))


async def matching_ids(conn: AsyncConnection, f: IpFilter) -> list[int]:
    """Ids of every matching address, in CloudStack's order (numerically by address)."""
    found = {int(i): str(a) for i, a in (await conn.execute(_owned(f))).all()}
    if not f.allocated_only and f.free_for is not None and f.vlan_type == "VirtualNetwork":
        found.update({int(i): str(a) for i, a in (await conn.execute(_free(f, f.free_for))).all()})
    return sorted(found, key=lambda i: (_numeric(found[i]), i))


def _page_columns() -> list[Any]:
    rules = exists().where(firewall_rules.c.ip_address_id == user_ip_address.c.id)
    return [
        user_ip_address,
        vlan.c.uuid.label("vlan_uuid"),
        vlan.c.vlan_id.label("vlan_tag"),
        vlan.c.vlan_type,
        data_center.c.uuid.label("zone_uuid"),
        data_center.c.name.label("zone_name"),
        account.c.account_name,
        account.c.type.label("account_type"),
        domain.c.uuid.label("domain_uuid"),
        domain.c.name.label("domain_name"),
        domain.c.path.label("domain_path"),
        projects.c.uuid.label("project_uuid"),
        projects.c.name.label("project_name"),
        associated.c.uuid.label("associated_uuid"),
        associated.c.name.label("associated_name"),
        source.c.uuid.label("network_uuid"),
        source.c.name.label("network_name"),
        physical_network.c.uuid.label("physical_network_uuid"),
        vpc.c.uuid.label("vpc_uuid"),
        vpc.c.name.label("vpc_name"),
        vm_instance.c.uuid.label("vm_uuid"),
        vm_instance.c.name.label("vm_name"),
        vm_instance.c.display_name.label("vm_display_name"),
        vm_instance.c.type.label("vm_type"),
        rules.label("has_rules"),
    ]


def _page_query(ids: Sequence[int]) -> Select[Any]:
    ip = user_ip_address.c
    return (
        select(*_page_columns())
        .select_from(user_ip_address.join(vlan, vlan.c.id == ip.vlan_db_id))
        .join(data_center, data_center.c.id == ip.data_center_id)
        .outerjoin(account, account.c.id == ip.account_id)
        .outerjoin(domain, domain.c.id == ip.domain_id)
        .outerjoin(projects, projects.c.project_account_id == ip.account_id)
        .outerjoin(associated, associated.c.id == ip.network_id)
        .outerjoin(source, source.c.id == vlan.c.network_id)
        .outerjoin(physical_network, physical_network.c.id == ip.physical_network_id)
        .outerjoin(vpc, vpc.c.id == ip.vpc_id)
        .outerjoin(vm_instance, vm_instance.c.id == ip.vm_id)
        .where(ip.id.in_(ids))
    )


@dataclass
class IpRecord:
    row: Any
    tags: list[Any]
    has_annotations: bool = False


async def records(conn: AsyncConnection, ids: Sequence[int], admin: bool) -> list[IpRecord]:
    """Full rows of these addresses (in the given order) with tags and annotation flags."""
    if not ids:
        return []
    rows = {int(r.id): IpRecord(r, []) for r in (await conn.execute(_page_query(ids))).all()}
    for tag in (await conn.execute(tags_query(TAG_TYPE, list(rows)))).all():
        rows[int(tag.resource_id)].tags.append(tag)
    uuids = {str(r.row.uuid): r for r in rows.values()}
    noted = select(annotation_rows.c.entity_uuid).where(
        annotation_rows.c.entity_uuid.in_(list(uuids)),
        annotation_rows.c.entity_type == "PUBLIC_IP_ADDRESS",
        annotation_rows.c.removed.is_(None),
    )
    if not admin:
        noted = noted.where(annotation_rows.c.admins_only.is_(False))
    for entity in (await conn.execute(noted)).scalars():
        uuids[str(entity)].has_annotations = True
    return [rows[i] for i in ids if i in rows]
