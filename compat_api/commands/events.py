"""listEvents: the event log of the accounts the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from compat_api import errors
from compat_api.commands.accounts import list_scope
from compat_api.context import CallContext
from compat_api.listing import listed, page_of
from compat_api.params import is_uuid
from compat_api.registry import Command, declare
from compat_api.render import Result
from compat_api.responses import event
from schema_bridge import events

# Every resource type name the API knows; events may name types we cannot resolve to rows.
RESOURCE_TYPES = frozenset(events.RESOURCE_TABLES) | {
    "None",
    "PortableIpAddress",
    "TrafficType",
    "PhysicalNetworkServiceProvider",
    "PrivateGateway",
    "StaticRoute",
    "Counter",
    "Condition",
    "AutoScalePolicy",
    "AutoScaleVmProfile",
    "AutoScaleVmGroup",
    "GlobalLoadBalancerRule",
    "LoadBalancerRule",
    "DedicatedGuestVlanRange",
    "GuestOs",
    "GuestOsMapping",
    "NetworkAcl",
    "NetworkAclItem",
    "BackupOffering",
    "Backup",
    "VpnCustomerGateway",
    "ManagementServer",
}


def _naive_utc(when: datetime | None) -> datetime | None:
    """Event times are stored as naive UTC; compare like with like."""
    return None if when is None else when.astimezone(UTC).replace(tzinfo=None)


async def _resource(ctx: CallContext, args: dict[str, Any]) -> tuple[str | None, int | None]:
    """The resourcetype/resourceid filter, refused as CloudStack refuses it."""
    kind, ref = args.get("resourcetype"), args.get("resourceid")
    if kind is not None and kind not in RESOURCE_TYPES:
        raise errors.invalid_parameter("Invalid resourcetype")
    if ref is None:
        return kind, None
    if kind is None:
        raise errors.invalid_parameter(
            "resourceid parameter must be used with resourcetype parameter"
        )
    if not is_uuid(ref):
        raise errors.invalid_parameter("Invalid resourceid")
    async with ctx.db.engine.connect() as conn:
        found = await events.resource_id_by_uuid(conn, kind, ref)
    if found is None:
        raise errors.invalid_parameter("Invalid resourceid")
    return kind, found


def _pending_window(args: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """entrytime+duration ask for events started that long ago and still not completed."""
    entry, duration = args.get("entrytime"), args.get("duration")
    if entry is None or duration is None:
        return None
    if entry <= duration:
        raise errors.invalid_parameter("Entry time must be greater than duration")
    now = datetime.now(UTC).replace(tzinfo=None)
    return now - timedelta(seconds=entry), now - timedelta(seconds=duration)


async def list_events(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    resource_type, resource_id = await _resource(ctx, args)
    window = _pending_window(args)
    scoped = await list_scope(ctx, args)
    filters = events.EventFilter(
        ids=(args["id"],) if "id" in args else (),
        type=args.get("type"),
        level=args.get("level"),
        state=args.get("state"),
        keyword=args.get("keyword"),
        start=_naive_utc(args.get("startdate")),
        end=_naive_utc(args.get("enddate")),
        start_id=args.get("startid"),
        archived=bool(args.get("archived")),
        resource_type=resource_type,
        resource_id=resource_id,
        # Events hidden from display are for root admins only.
        displayed_only=not ctx.caller.is_root_admin,
        pending_between=window,
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
    )
    async with ctx.db.engine.connect() as conn:
        page = await events.events_page(conn, filters, paging.offset, paging.limit)
        refs = await events.resource_refs(conn, page.rows)

    def present(row: Any) -> dict[str, Any]:
        key = (row.resource_type, row.resource_id)
        return event.present(row, refs.get(key) if row.resource_id is not None else None)

    return listed(ctx, page, present)


COMMANDS: list[Command] = [
    declare(
        "listEvents",
        subsystem="event",
        handler=list_events,
        summary="Events of the accounts the caller may see, newest first.",
    ),
]
