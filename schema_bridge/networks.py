"""Network offerings and guest/system networks as listNetworkOfferings and listNetworks read
them, with the services each offers and who may see each network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.catalog import PROJECT_ACCOUNT_TYPE
from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    account,
    data_center,
    domain,
    domain_network_ref,
    network_acl,
    network_offerings,
    networks,
    ntwk_service_map,
    physical_network,
    projects,
    table,
    user_ip_address,
    vpc,
)

related = networks.alias("related_network")
# Offering columns a network response repeats.
OFFERING_FLAGS = (
    "conserve_mode",
    "system_only",
    "availability",
    "is_persistent",
    "specify_vlan",
    "egress_default_policy",
    "supports_vm_autoscaling",
)
# Not among the tables schema_bridge.tables names as attributes.
network_permissions = table("network_permissions")


async def network_services(
    conn: AsyncConnection, network_ids: Iterable[int]
) -> dict[int, list[tuple[str, str | None]]]:
    """Each network's (service, provider) pairs, in the order they were added."""
    wanted = sorted(set(network_ids))
    out: dict[int, list[tuple[str, str | None]]] = {i: [] for i in wanted}
    if wanted:
        m = ntwk_service_map
        query = (
            select(m.c.network_id, m.c.service, m.c.provider)
            .where(m.c.network_id.in_(wanted))
            .order_by(m.c.id)
        )
        for network_id, service, provider in (await conn.execute(query)).all():
            out[int(network_id)].append((str(service), provider))
    return out


@dataclass(frozen=True)
class NetworkFilter:
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    guest_type: str | None = None
    traffic_type: str | None = None
    acl_type: str | None = None
    physical_network_id: int | None = None
    offering_id: int | None = None
    vpc_id: int | None = None
    for_vpc: bool | None = None
    restart_required: bool | None = None
    specify_ip_ranges: bool | None = None
    display: bool | None = None
    can_use_for_deploy: bool | None = None
    system: bool = False
    services: tuple[str, ...] = ()
    # Who may see what, as listNetworks decides it; nothing is restricted unless `restricted`.
    # Account networks: of `account_ids`, or of any account in `account_domain_ids`.
    # Domain networks: shared with one of `shared_domain_ids`, or with one of
    # `inherited_domain_ids` when subdomains may use them. Networks shared with accounts
    # (network_permissions): with `permitted_account_ids`, or any account in `permitted_domain_ids`.
    restricted: bool = False
    account_ids: tuple[int, ...] | None = None
    account_domain_ids: tuple[int, ...] | None = None
    shared_domain_ids: tuple[int, ...] = ()
    inherited_domain_ids: tuple[int, ...] = ()
    permitted_account_ids: tuple[int, ...] | None = None
    permitted_domain_ids: tuple[int, ...] | None = None


def can_use_for_deploy() -> ColumnElement[bool]:
    """Guest networks VMs can still join: shared ones need a free address left."""
    free = exists(
        select(user_ip_address.c.id).where(
            user_ip_address.c.source_network_id == networks.c.id,
            user_ip_address.c.state == "Free",
            user_ip_address.c.removed.is_(None),
        )
    )
    return case(
        (networks.c.traffic_type != "Guest", false()),
        (networks.c.guest_type == "Shared", or_(networks.c.gateway.is_(None), free)),
        else_=true(),
    )


def _owned(f: NetworkFilter) -> ColumnElement[bool]:
    if f.account_ids is not None:
        owner = networks.c.account_id.in_(f.account_ids)
    else:
        owner = networks.c.domain_id.in_(f.account_domain_ids or ())
    return and_(networks.c.acl_type == "Account", owner)


def _domain_wide(f: NetworkFilter) -> ColumnElement[bool]:
    ref = domain_network_ref
    # A share without its own subdomain flag follows the global default, which allows it.
    inherited = and_(
        ref.c.domain_id.in_(f.inherited_domain_ids),
        func.coalesce(ref.c.subdomain_access, 1) == 1,
    )
    shared = select(ref.c.id).where(
        ref.c.network_id == networks.c.id,
        or_(ref.c.domain_id.in_(f.shared_domain_ids), inherited),
    )
    return and_(networks.c.acl_type == "Domain", exists(shared))


def _permitted(f: NetworkFilter) -> ColumnElement[bool]:
    grants = network_permissions
    if f.permitted_account_ids is not None:
        grantees: Any = f.permitted_account_ids
    else:
        in_domains = account.c.domain_id.in_(f.permitted_domain_ids or ())
        grantees = select(account.c.id).where(in_domains).scalar_subquery()
    granted = select(grants.c.id).where(
        grants.c.network_id == networks.c.id, grants.c.account_id.in_(grantees)
    )
    return exists(granted)


def _visibility(f: NetworkFilter) -> list[ColumnElement[bool]]:
    if not f.restricted:
        return []
    return [or_(_owned(f), _domain_wide(f), _permitted(f))]


def _network_clauses(f: NetworkFilter) -> list[ColumnElement[bool]]:
    n = networks
    clauses: list[ColumnElement[bool]] = [
        n.c.removed.is_(None),
        network_offerings.c.system_only == int(f.system),
        # Project networks are listed only for a project, which this server does not take.
        account.c.type != PROJECT_ACCOUNT_TYPE,
    ]
    if f.ids:
        clauses.append(n.c.id.in_(f.ids))
    if f.keyword:
        clauses.append(n.c.name.like(like_escape(f.keyword), escape="\\"))
    equal = (
        (n.c.name, f.name),
        (n.c.data_center_id, f.zone_id),
        (func.lower(n.c.guest_type), f.guest_type and f.guest_type.lower()),
        (func.lower(n.c.traffic_type), f.traffic_type and f.traffic_type.lower()),
        (func.lower(n.c.acl_type), f.acl_type and f.acl_type.lower()),
        (n.c.physical_network_id, f.physical_network_id),
        (n.c.network_offering_id, f.offering_id),
        (n.c.vpc_id, f.vpc_id),
    )
    clauses.extend(column == value for column, value in equal if value is not None)
    flags = (
        (n.c.restart_required, f.restart_required),
        (n.c.specify_ip_ranges, f.specify_ip_ranges),
    )
    clauses.extend(column == int(value) for column, value in flags if value is not None)
    if f.display is not None:
        clauses.append(n.c.display_network.is_(f.display))
    if f.for_vpc is not None:
        clauses.append(n.c.vpc_id.is_not(None) if f.for_vpc else n.c.vpc_id.is_(None))
    if f.can_use_for_deploy is not None:
        clauses.append(can_use_for_deploy() == literal(f.can_use_for_deploy))
    for service in f.services:
        offered = select(ntwk_service_map.c.id).where(
            ntwk_service_map.c.network_id == n.c.id, ntwk_service_map.c.service == service
        )
        clauses.append(exists(offered))
    return clauses + _visibility(f)


def _network_columns() -> list[Any]:
    """The network row plus what its response shows of the offering, owner and places."""
    o = network_offerings
    offering = [
        o.c.uuid.label("offering_uuid"),
        o.c.name.label("offering_name"),
        o.c.display_text.label("offering_display_text"),
        *(o.c[name] for name in OFFERING_FLAGS),
    ]
    owner = [
        account.c.uuid.label("account_uuid"),
        account.c.account_name,
        account.c.type.label("account_type"),
        *(domain.c[name].label(f"domain_{name}") for name in ("uuid", "name", "path")),
        projects.c.uuid.label("project_uuid"),
        projects.c.name.label("project_name"),
    ]
    places = [
        *(data_center.c[name].label(f"zone_{name}") for name in ("uuid", "name", "dns1", "dns2")),
        data_center.c.ip6_dns1.label("zone_ip6_dns1"),
        data_center.c.ip6_dns2.label("zone_ip6_dns2"),
        physical_network.c.uuid.label("physical_network_uuid"),
        related.c.uuid.label("related_uuid"),
        vpc.c.uuid.label("vpc_uuid"),
        vpc.c.name.label("vpc_name"),
        network_acl.c.uuid.label("acl_uuid"),
        network_acl.c.name.label("acl_name"),
    ]
    return [networks, *offering, *owner, *places, can_use_for_deploy().label("usable")]


def _networks_query(f: NetworkFilter) -> Select[Any]:
    n = networks
    joined = (
        n.join(network_offerings, network_offerings.c.id == n.c.network_offering_id)
        .join(account, account.c.id == n.c.account_id)
        .join(domain, domain.c.id == n.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == account.c.id)
        .outerjoin(data_center, data_center.c.id == n.c.data_center_id)
        .outerjoin(physical_network, physical_network.c.id == n.c.physical_network_id)
        .outerjoin(related, related.c.id == n.c.related)
        .outerjoin(vpc, vpc.c.id == n.c.vpc_id)
        .outerjoin(network_acl, network_acl.c.id == n.c.network_acl_id)
    )
    return (
        select(*_network_columns())
        .select_from(joined)
        .where(*_network_clauses(f))
        # Newest networks first, as the management server lists them.
        .order_by(n.c.id.desc())
    )


async def network_page(
    conn: AsyncConnection, f: NetworkFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _networks_query(f), offset, limit)


@dataclass(frozen=True)
class DomainShare:
    domain_uuid: str
    domain_name: str
    domain_path: str
    subdomain_access: bool | None


async def domain_shares(
    conn: AsyncConnection, network_ids: Iterable[int]
) -> dict[int, DomainShare]:
    """The domain each domain-wide network is shared with (its first domain_network_ref)."""
    wanted = sorted(set(network_ids))
    out: dict[int, DomainShare] = {}
    if not wanted:
        return out
    ref = domain_network_ref
    query = (
        select(
            ref.c.network_id, domain.c.uuid, domain.c.name, domain.c.path, ref.c.subdomain_access
        )
        .select_from(ref.join(domain, domain.c.id == ref.c.domain_id))
        .where(ref.c.network_id.in_(wanted))
        .order_by(ref.c.id)
    )
    for network_id, uuid, name, path, access in (await conn.execute(query)).all():
        flag = None if access is None else bool(access)
        out.setdefault(int(network_id), DomainShare(str(uuid), str(name), str(path), flag))
    return out
