"""Public IP addresses: associateIpAddress / disassociateIpAddress (engine jobs) and
listPublicIpAddresses.

associateIpAddress claims the address when it is accepted (the answer names it, as
CloudStack's create phase does); the job associates it with the network, if one was named,
and marks it Allocated. A zone alone allocates the address to the owner without a network
(CloudStack would instead pick the owner's only isolated network in the zone).
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner, started, submit_job
from compat_api.commands.accounts import list_scope
from compat_api.commands.volume_actions import event, limit_error
from compat_api.context import CallContext
from compat_api.listing import empty, ids_of, page_of, wants_id
from compat_api.owners import ResourceOwner, raw_param, resource_owner
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses import ipaddress
from engine.network.processes import ASSOCIATE, DISASSOCIATE
from schema_bridge import ip_addresses, job_queue, public_ips, resource_counts, volume_rows
from schema_bridge.public_ips import Claimant, GuestNetwork, IpRow

INSUFFICIENT_ADDRESS_CAPACITY: Final = 4320
UNKNOWN_EXCEPTION: Final = -1  # IllegalArgumentException has no CloudStack error code
NAT_SERVICES: Final = frozenset({"SourceNat", "StaticNat", "PortForwarding", "Lb", "Firewall"})


async def _network(ctx: CallContext, conn: AsyncConnection, network_id: int) -> GuestNetwork:
    network = await public_ips.guest_network(conn, network_id)
    if network is None or network.traffic_type != "Guest":
        raise errors.invalid_parameter(
            f"Unable to find network by id {raw_param(ctx, 'networkid')}"
        )
    if network.guest_type == "Shared" and not NAT_SERVICES.issubset(network.services):
        raise errors.invalid_parameter(
            "IP can be associated with guest network of 'shared' type only if network services "
            "Source Nat, Static Nat, Port Forwarding, Load balancing, firewall are enabled in the "
            "network"
        )
    if network.guest_type == "Isolated":
        await check_owner(conn, ctx.caller, Owner(network.account_id, network.domain_id))
        if "SourceNat" not in network.services:
            raise errors.invalid_parameter(
                "In zone of type Advanced ip address can be associated only to the network of "
                "guest type Isolated with the SourceNat enabled"
            )
    return network


async def _zone_id(ctx: CallContext, conn: AsyncConnection, zone_id: int | None) -> int:
    if zone_id is None:
        raise errors.invalid_parameter(
            "Unable to figure out zone to assign IP to. Please specify either zoneId, or "
            "networkId, or vpcId in the call"
        )
    state = await volume_rows.zone_allocation_state(conn, zone_id)
    if state is None:
        raise errors.invalid_parameter(f"Unable to find zone by id {raw_param(ctx, 'zoneid')}")
    if state == "Disabled" and not ctx.caller.is_root_admin:
        raise errors.permission_denied(
            f"Cannot perform this operation, Zone is currently disabled: {raw_param(ctx, 'zoneid')}"
        )
    return zone_id


async def _claim(
    ctx: CallContext, conn: AsyncConnection, zone_id: int, owner: ResourceOwner, address: Any
) -> IpRow:
    chain = tuple(await resource_counts.domain_chain(conn, owner.domain_id))
    who = Claimant(owner.account_id, owner.domain_id, chain)
    try:
        return await public_ips.claim(conn, zone_id, who, address)
    except resource_counts.LimitExceededError as exceeded:
        raise limit_error(exceeded) from exceeded
    except public_ips.NoFreeAddressError as empty:
        text = "Insufficient address capacity" if ctx.caller.is_root_admin else errors.INTERNAL_TEXT
        raise errors.ApiError(
            errors.INSUFFICIENT_CAPACITY_ERROR, text, INSUFFICIENT_ADDRESS_CAPACITY
        ) from empty


async def associate_ip(ctx: CallContext, args: dict[str, Any]) -> Result:
    if args.get("isportable"):
        raise errors.invalid_parameter("Portable IP addresses are not supported by this server")
    if args.get("vpcid") is not None:
        raise errors.invalid_parameter(
            "Associating IP addresses with a VPC is not supported by this server"
        )
    async with ctx.db.engine.begin() as conn:
        owner = await resource_owner(ctx, conn, args)
        network = None
        if args.get("networkid") is not None:
            network = await _network(ctx, conn, args["networkid"])
        zone_id = await _zone_id(ctx, conn, network.zone_id if network else args.get("zoneid"))
        ip = await _claim(ctx, conn, zone_id, owner, args.get("ipaddress"))
        await event(ctx, conn, "NET.IPASSIGN", "Created", "allocating Ip", (ip.id, "IpAddress"))
        step_args = {"network_id": network.id if network else None, "account_id": owner.account_id}
        job = await submit_job(
            ctx,
            conn,
            ASSOCIATE,
            ip.id,
            ip.uuid,
            Owner(owner.account_id, owner.domain_id),
            step_args,
        )
    return started(ctx, job, ip.uuid)


async def _ip_to_release(ctx: CallContext, conn: AsyncConnection, args: dict[str, Any]) -> IpRow:
    if args.get("id") is None and args.get("ipaddress") is None:
        raise errors.invalid_parameter("Please specify either IP address or IP address ID")
    if args.get("id") is not None:
        ip = await public_ips.ip_by_id(conn, int(args["id"]))
    else:
        ip = await public_ips.ip_by_address(conn, str(args["ipaddress"]))
    if ip is None or ip.removed is not None:
        raise errors.invalid_parameter("Unable to find ip address by id")
    if ip.account_id is None or ip.allocated is None:
        raise errors.invalid_parameter(f"IP address {ip.public_ip_address} is not allocated")
    await check_owner(conn, ctx.caller, Owner(ip.account_id, int(ip.domain_id or 0)))
    return ip


def _refuse(text: str) -> errors.ApiError:
    """CloudStack throws these as IllegalArgumentException: 431 with no known error code."""
    return errors.ApiError(errors.PARAM_ERROR, text, UNKNOWN_EXCEPTION)


async def disassociate_ip(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        ip = await _ip_to_release(ctx, conn, args)
        if ip.source_nat:
            raise _refuse(
                "ip address is used for source nat purposes and can not be disassociated."
            )
        if ip.vlan_type != "VirtualNetwork":
            raise _refuse(
                "only ip addresses that belong to a virtual network may be disassociated."
            )
        if ip.is_system:
            raise errors.invalid_parameter("Can't release system IP address with specified id")
        if await public_ips.has_rules(conn, ip.id) or ip.one_to_one_nat:
            raise errors.invalid_parameter(
                f"IP address {ip.public_ip_address} still has NAT, firewall or load balancing "
                "rules; delete them before releasing it"
            )
        queued = await job_queue.has_pending(conn, "IpAddress", ip.id)
        if not queued and ip.state != "Allocated":
            raise errors.invalid_parameter(
                f"IP address {ip.public_ip_address} is {ip.state}; only an Allocated address "
                "can be released"
            )
        owner = Owner(int(ip.account_id or 0), int(ip.domain_id or 0))
        step_args = {"account_id": ip.account_id}
        job = await submit_job(ctx, conn, DISASSOCIATE, ip.id, ip.uuid, owner, step_args)
    return started(ctx, job)


# --- listPublicIpAddresses ---------------------------------------------------------------

STATES: Final = ("Free", "Allocating", "Allocated", "Releasing", "Reserved")


def _states(value: str | None) -> tuple[str, ...]:
    found: list[str] = []
    for item in (value or "").split(","):
        if item.strip() == "":
            continue
        state = next((s for s in STATES if s.lower() == item.strip().lower()), None)
        if state is None:
            raise errors.invalid_parameter(f"Invalid state: {item}")
        found.append(state)
    return tuple(found)


def _allocated_only(args: dict[str, Any], states: tuple[str, ...]) -> bool:
    """CloudStack's default: allocated only, unless Free/Reserved addresses are asked for."""
    wants_free = "Free" in states or "Reserved" in states
    given = args.get("allocatedonly")
    if given is None:
        return not wants_free
    if wants_free and given:
        raise errors.invalid_parameter("Conflict: allocatedonly is true but state is Free")
    return bool(given) or "Allocated" in states


def _tag_pairs(raw: dict[int, dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple(
        (e["key"], e.get("value", "")) for _, e in sorted((raw or {}).items()) if "key" in e
    )


async def _free_for(ctx: CallContext, args: dict[str, Any]) -> Claimant:
    """Whose claimable Free addresses a not-allocated-only listing adds."""
    wanted: dict[str, Any] = {k: args[k] for k in ("account", "domainid", "projectid") if k in args}
    if wanted.get("projectid") == -1:
        wanted.pop("projectid")
    async with ctx.db.engine.connect() as conn:
        owner = await resource_owner(ctx, conn, wanted)
        chain = tuple(await resource_counts.domain_chain(conn, owner.domain_id))
    return Claimant(owner.account_id, owner.domain_id, chain)


async def _ip_filter(ctx: CallContext, args: dict[str, Any]) -> ip_addresses.IpFilter:
    states = _states(args.get("state"))
    allocated_only = _allocated_only(args, states)
    virtual = args.get("forvirtualnetwork", True)
    admin = ctx.caller.is_root_admin
    if not virtual and not admin and "networkid" not in args and "id" not in args:
        allocated_only = True
    scoped = await list_scope(ctx, args)
    free_for = None if allocated_only or not virtual else await _free_for(ctx, args)
    return ip_addresses.IpFilter(
        vlan_type="VirtualNetwork" if virtual else "DirectAttached",
        states=states,
        allocated_only=allocated_only,
        scoped=allocated_only or (virtual and (not admin or "domainid" in args)),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
        free_for=free_for,
        ids=ids_of(args),
        address=args.get("ipaddress"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        vlan_id=args.get("vlanid") if admin else None,
        physical_network_id=args.get("physicalnetworkid"),
        associated_network_id=args.get("associatednetworkid"),
        source_network_id=args.get("networkid"),
        vpc_id=args.get("vpcid"),
        source_nat=args.get("issourcenat"),
        static_nat=args.get("isstaticnat"),
        display=args.get("fordisplay") if admin else None,
        for_system_vms=bool(args.get("forsystemvms")),
        tags=_tag_pairs(args.get("tags")),
    )


async def list_public_ip_addresses(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    if wants_id(args) and not ids_of(args):
        return empty(ctx)
    filters = await _ip_filter(ctx, args)
    async with ctx.db.engine.connect() as conn:
        ids = await ip_addresses.matching_ids(conn, filters)
        if args.get("retrieveonlyresourcecount"):
            return ListResult([], len(ids), "publicipaddress")
        end = None if paging.limit is None else paging.offset + paging.limit
        found = await ip_addresses.records(conn, ids[paging.offset : end], ctx.caller.is_root_admin)
    items = [ipaddress.present(record, ctx.caller) for record in found]
    return ListResult(items, len(ids), "publicipaddress")


COMMANDS: list[Command] = [
    declare(
        "listPublicIpAddresses",
        subsystem="network",
        handler=list_public_ip_addresses,
        summary="Public IP addresses the caller's scope owns and, unless allocatedonly, the "
        "free ones it could take.",
    ),
    declare(
        "associateIpAddress",
        subsystem="network",
        handler=associate_ip,
        summary="Allocates a free public IP address of the zone (or network) to the owner.",
    ),
    declare(
        "disassociateIpAddress",
        subsystem="network",
        handler=disassociate_ip,
        summary="Releases an allocated public IP address back to the zone's free pool.",
    ),
]
