"""Network reads: guest and system networks, and network offerings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.caller import ACCOUNT_USER, Caller
from compat_api.context import CallContext
from compat_api.listing import empty, ids_of, listed, page_of, wants_id
from compat_api.registry import Command, declare
from compat_api.render import Result
from compat_api.responses import network, network_offering, tag
from schema_bridge import accounts, configuration, networks, offerings, vms
from schema_bridge.tables import network_offering_details

THROTTLING_SETTING = "network.throttling.rate"
DEFAULT_RATE = 200


async def _visible_domains(ctx: CallContext, args: dict[str, Any]) -> tuple[int, ...] | None:
    """Domains whose dedicated network offerings are listed: the caller's domain and those
    above it (root admins: all), plus `domainid` and those above it when given."""
    caller = ctx.caller
    domain_id = args.get("domainid")
    if caller.is_root_admin and not isinstance(domain_id, int):
        return None
    async with ctx.db.engine.connect() as conn:
        visible: set[int] = set()
        if not caller.is_root_admin:
            visible.update(await accounts.ancestor_domain_ids(conn, caller.domain_path))
        if isinstance(domain_id, int):
            path = await accounts.domain_path_of(conn, domain_id)
            visible.update(await accounts.ancestor_domain_ids(conn, path) if path else ())
    return tuple(sorted(visible))


def _services(args: dict[str, Any]) -> tuple[str, ...]:
    wanted = list(args.get("supportedservices", ()))
    if args.get("sourcenatsupported"):
        wanted.append("SourceNat")
    return tuple(dict.fromkeys(wanted))


def _flag(args: dict[str, Any], name: str) -> bool | None:
    return bool(args[name]) if name in args else None


def _network_offering_filter(
    args: dict[str, Any], placement: offerings.OfferingFilter
) -> offerings.NetworkOfferingFilter:
    return offerings.NetworkOfferingFilter(
        placement=placement,
        display_text=args.get("displaytext"),
        traffic_type=args.get("traffictype"),
        guest_type=args.get("guestiptype"),
        availability=args.get("availability"),
        tags=args.get("tags"),
        tagged=_flag(args, "istagged"),
        default=_flag(args, "isdefault"),
        specify_vlan=_flag(args, "specifyvlan"),
        specify_ip_ranges=_flag(args, "specifyipranges"),
        for_vpc=_flag(args, "forvpc"),
        routing_mode=args.get("routingmode"),
        services=_services(args),
    )


async def list_network_offerings(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    placement = offerings.OfferingFilter(
        ids=ids_of(args),
        name=args.get("name"),
        keyword=args.get("keyword"),
        state=args.get("state"),
        zone_id=args.get("zoneid"),
        visible_domain_ids=await _visible_domains(ctx, args),
    )
    if wants_id(args) and not [i for i in placement.ids if i > 0]:
        return empty(ctx)
    filters = _network_offering_filter(args, placement)
    async with ctx.db.engine.connect() as conn:
        page = await offerings.network_offering_page(conn, filters, paging.offset, paging.limit)
        ids = [row.id for row in page.rows]
        places = await offerings.placements(
            conn, network_offering_details, ids, not ctx.caller.is_root_admin
        )
        services = await offerings.offering_services(conn, ids)
        router = await offerings.default_router_offering_uuid(conn)
        raw_rate = (await configuration.values(conn, [THROTTLING_SETTING]))[THROTTLING_SETTING]
    rate = int(raw_rate) if raw_rate and raw_rate.strip().isdigit() else DEFAULT_RATE
    return listed(
        ctx,
        page,
        lambda row: network_offering.present(row, places[row.id], services[row.id], rate, router),
    )


async def _requested_owner(
    conn: AsyncConnection, caller: Caller, args: dict[str, Any], domain_id: int
) -> tuple[str, list[int]]:
    """`domainid` (and `account` in it), checked the way listNetworks checks them."""
    path = await accounts.domain_path_of(conn, domain_id)
    if path is None:
        raise errors.invalid_parameter("Specified domain id doesn't exist in the system")
    reachable = path.startswith(caller.domain_path)
    if caller.account_type == ACCOUNT_USER:
        reachable = domain_id == caller.domain_id
    if not (caller.is_root_admin or reachable):
        raise errors.permission_denied(
            f"Account {caller.account_name} does not have permission to operate within "
            f"domain id={domain_id}"
        )
    if "account" not in args:
        return path, []
    owner = await accounts.account_by_name(conn, args["account"], domain_id)
    if owner is None:
        raise errors.invalid_parameter(
            f"Unable to find account {args['account']} in specified domain"
        )
    if caller.account_type == ACCOUNT_USER and owner.id != caller.account_id:
        raise errors.permission_denied()
    return path, [owner.id]


async def _visibility(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """NetworkFilter visibility: users see their account's networks; admins, without an
    account, every account network of their domain (or subtree with listall/isrecursive);
    both see domain-wide networks of that domain and of parents sharing with subdomains."""
    caller = ctx.caller
    domain_id = args.get("domainid") if isinstance(args.get("domainid"), int) else None
    permitted: list[int] = []
    async with ctx.db.engine.connect() as conn:
        path = caller.domain_path
        if domain_id is not None:
            path, permitted = await _requested_owner(conn, caller, args, domain_id)
        if caller.account_type == ACCOUNT_USER:
            permitted.append(caller.account_id)
            domain_id, path = caller.domain_id, caller.domain_path
        recursive = bool(args.get("isrecursive")) or (
            bool(args.get("listall")) and domain_id is None
        )
        if permitted:
            above = await accounts.ancestor_domain_ids(conn, path)
            return {
                "restricted": True,
                "account_ids": tuple(permitted),
                "shared_domain_ids": (domain_id,) if domain_id is not None else (),
                "inherited_domain_ids": above if domain_id is not None else (),
                "permitted_account_ids": tuple(permitted),
            }
        here = domain_id if domain_id is not None else caller.domain_id
        scope = await accounts.subtree_domain_ids(conn, path) if recursive else (here,)
        parents: tuple[int, ...] = ()
        if domain_id is None:
            above = await accounts.ancestor_domain_ids(conn, caller.domain_path)
            parents = tuple(i for i in above if i != caller.domain_id)
    return {
        "restricted": True,
        "account_domain_ids": scope,
        "shared_domain_ids": scope,
        "inherited_domain_ids": parents,
        "permitted_domain_ids": scope,
    }


def _network_filter(args: dict[str, Any], caller: Caller, system: bool) -> networks.NetworkFilter:
    return networks.NetworkFilter(
        ids=ids_of(args),
        name=args.get("name"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        guest_type=args.get("type"),
        traffic_type=args.get("traffictype"),
        acl_type=args.get("acltype"),
        physical_network_id=args.get("physicalnetworkid"),
        offering_id=args.get("networkofferingid"),
        vpc_id=args.get("vpcid"),
        for_vpc=_flag(args, "forvpc"),
        restart_required=_flag(args, "restartrequired"),
        specify_ip_ranges=_flag(args, "specifyipranges"),
        display=_flag(args, "displaynetwork") if caller.is_root_admin else None,
        can_use_for_deploy=_flag(args, "canusefordeploy"),
        system=system,
        services=tuple(dict.fromkeys(args.get("supportedservices", ()))),
    )


async def list_networks(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    caller = ctx.caller
    # Only root admins list system networks; for anyone else the flag means nothing.
    system = bool(args.get("issystem")) and caller.is_root_admin
    if system and ("account" in args or "domainid" in args):
        raise errors.invalid_parameter(
            "System network belongs to system, account and domainId parameters can't be specified"
        )
    filters = _network_filter(args, caller, system)
    if wants_id(args) and not [i for i in filters.ids if i > 0]:
        return empty(ctx)
    if not system:
        filters = replace(filters, **await _visibility(ctx, args))
    async with ctx.db.engine.connect() as conn:
        page = await networks.network_page(conn, filters, paging.offset, paging.limit)
        network_ids = [int(row.id) for row in page.rows]
        services = await networks.network_services(conn, network_ids)
        shares = await networks.domain_shares(conn, network_ids)
        tags: dict[int, list[dict[str, Any]]] = {i: [] for i in network_ids}
        if network_ids:
            for row in (await conn.execute(vms.tags_query("Network", network_ids))).all():
                tags[int(row.resource_id)].append(tag.present(row))

    def present(row: Any) -> dict[str, Any]:
        return network.present(row, caller, services[row.id], shares.get(row.id), tags[row.id])

    return listed(ctx, page, present)


COMMANDS: list[Command] = [
    declare(
        "listNetworks",
        subsystem="network",
        handler=list_networks,
        summary="Networks the caller owns or may use: its account's, and domain-wide shared ones.",
    ),
    declare(
        "listNetworkOfferings",
        subsystem="offering",
        handler=list_network_offerings,
        summary="Guest network offerings visible to the caller's domain, with their services.",
    ),
]
