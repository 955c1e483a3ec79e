"""Catalogue reads: templates, compute offerings and disk offerings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from compat_api import errors
from compat_api.caller import ACCOUNT_DOMAIN_ADMIN, ACCOUNT_USER, Caller
from compat_api.context import CallContext
from compat_api.listing import empty, ids_of, listed, page_of, wants_id
from compat_api.registry import Command, declare
from compat_api.render import Result
from compat_api.responses import disk_offering, service_offering, tag, template
from compat_api.scope import owner_scope
from schema_bridge import accounts, catalog, offerings, vms
from schema_bridge.tables import disk_offering_details, service_offering_details

TEMPLATE_FILTERS = (
    "featured",
    "self",
    "selfexecutable",
    "sharedexecutable",
    "executable",
    "community",
    "all",
)
# HypervisorType names; anything else means "no hypervisor filter", as upstream reads it.
HYPERVISORS = {
    name.lower(): name
    for name in (
        "XenServer",
        "KVM",
        "VMware",
        "Hyperv",
        "VirtualBox",
        "Parralels",
        "BareMetal",
        "Simulator",
        "Ovm",
        "Ovm3",
        "LXC",
        "Custom",
        "External",
    )
}
TEMPLATE_TYPES = ("USER", "SYSTEM", "BUILTIN", "PERHOST", "ROUTING", "DATADISK", "ISODISK", "VNF")
# Filters that list only templates whose copy is ready to deploy from.
READY_FILTERS = ("featured", "selfexecutable", "sharedexecutable", "community")
OFFERING_STATES = {"active": "Active", "inactive": "Inactive"}


def _template_filter(value: str, caller: Caller) -> str:
    if value not in TEMPLATE_FILTERS:
        # TemplateFilter.valueOf fails with Java's own message (an IllegalArgumentException).
        text = f"No enum constant com.cloud.template.VirtualMachineTemplate.TemplateFilter.{value}"
        raise errors.ApiError(errors.PARAM_ERROR, text, -1)
    if value == "all" and caller.account_type == ACCOUNT_USER:
        raise errors.invalid_parameter("Filter all can be specified by admin only")
    return value


async def _check_template_access(ctx: CallContext, template_id: int) -> None:
    """An explicit template id: it must be a template (not an ISO) the caller may use."""
    caller = ctx.caller
    async with ctx.db.engine.connect() as conn:
        owner = await catalog.template_owner(conn, template_id)
        if owner is None:
            raise errors.invalid_parameter("Please specify a valid template ID.")
        if owner.format == "ISO":
            raise errors.invalid_parameter(
                f"Incorrect format {owner.format} of the specified template id"
            )
        if owner.public or caller.is_root_admin:
            return
        if caller.account_type == ACCOUNT_DOMAIN_ADMIN:
            if not owner.domain_path.startswith(caller.domain_path):
                raise errors.permission_denied()
            return
        usable = owner.account_id == caller.account_id or await catalog.has_launch_permission(
            conn, template_id, caller.account_id
        )
    if not usable:
        raise errors.permission_denied()


async def _permitted_accounts(
    ctx: CallContext, args: dict[str, Any], kind: str
) -> tuple[tuple[int, ...], str]:
    """CloudStack's permitted accounts for the template filters (empty = not by owner), and
    the domain path the self filters look in."""
    caller = ctx.caller
    path = caller.domain_path
    if "account" in args or "domainid" in args:
        scope = await owner_scope(ctx, args)
        domain_id = args.get("domainid")
        if isinstance(domain_id, int):
            async with ctx.db.engine.connect() as conn:
                path = await accounts.domain_path_of(conn, domain_id) or path
        return scope.account_ids or (), path
    if caller.account_type == ACCOUNT_USER:
        return (caller.account_id,), path
    if kind == "all" or "id" in args:
        return (), path
    return (caller.account_id,), path


def _owner_rules(
    kind: str, caller: Caller, owners: tuple[int, ...], path: str, recursive: bool
) -> dict[str, Any]:
    """The template filter's owner rules as catalog.TemplateFilter fields."""
    if kind in ("featured", "community"):
        return {"public": True, "featured": kind == "featured"}
    if kind in ("self", "selfexecutable"):
        rules: dict[str, Any] = {"owner_ids": owners or None}
        if caller.account_type != ACCOUNT_USER:
            # Admins look in one domain, or below it with isrecursive.
            rules.update(domain_path=path, domain_subtree=recursive)
        return rules
    if kind == "sharedexecutable":
        # Without an account to share with there is nothing to list.
        return {"shared_with": owners}
    if kind == "executable":
        return {"public_or_owner_ids": owners}
    if kind == "all" and not caller.is_root_admin:
        return {"public_or_domain_path": caller.domain_path}
    return {}


def _only_ready(kind: str, args: dict[str, Any], caller: Caller) -> bool:
    account_specific = (
        caller.account_type != ACCOUNT_USER and "account" in args and "domainid" in args
    )
    ready = kind in READY_FILTERS or (kind == "executable" and account_specific)
    return ready or bool(args.get("isready"))


def _template_type(args: dict[str, Any]) -> str | None:
    value = args.get("templatetype")
    if value is None:
        return None
    if value.upper() not in TEMPLATE_TYPES:
        raise errors.invalid_parameter(
            f"Please specify a valid templatetype: {','.join(TEMPLATE_TYPES)}"
        )
    return str(value.upper())


async def list_templates(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    caller = ctx.caller
    kind = _template_filter(args["templatefilter"], caller)
    ids = ids_of(args)
    if wants_id(args) and not [i for i in ids if i > 0]:
        return empty(ctx)
    template_id = args.get("id")
    if isinstance(template_id, int):
        await _check_template_access(ctx, template_id)
    owners, path = await _permitted_accounts(ctx, args, kind)
    recursive = bool(args.get("isrecursive"))
    rules = (
        {} if isinstance(template_id, int) else _owner_rules(kind, caller, owners, path, recursive)
    )
    filters = catalog.TemplateFilter(
        template_id=template_id if isinstance(template_id, int) else None,
        ids=() if isinstance(template_id, int) else tuple(args.get("ids", ())),
        name=args.get("name"),
        keyword=args.get("keyword"),
        zone_id=args.get("zoneid"),
        hypervisor=HYPERVISORS.get(str(args.get("hypervisor", "")).lower()),
        template_type=_template_type(args),
        arch=args.get("arch"),
        os_category_id=args.get("oscategoryid"),
        exclude_project_owned=not isinstance(template_id, int),
        # SYSTEM templates are hidden from the featured and selfexecutable views.
        exclude_system=kind in ("featured", "selfexecutable"),
        only_ready=_only_ready(kind, args, caller),
        **rules,
    )
    async with ctx.db.engine.connect() as conn:
        page = await catalog.templates(conn, filters, paging.offset, paging.limit)
        template_ids = [int(row.id) for row in page.rows]
        extras = await catalog.template_extras(conn, template_ids)
        tags: dict[int, list[dict[str, Any]]] = {i: [] for i in template_ids}
        if template_ids:
            for row in (await conn.execute(vms.tags_query("Template", template_ids))).all():
                tags[int(row.resource_id)].append(tag.present(row))
    return listed(
        ctx, page, lambda row: template.present(row, extras[row.id], caller, tags[row.id])
    )


def _offering_state(args: dict[str, Any]) -> str | None:
    """`state`: Active when not given, any state for `all`."""
    value = args.get("state")
    if value is None or value.strip() == "":
        return "Active"
    if value.lower() == "all":
        return None
    if value.lower() not in OFFERING_STATES:
        raise errors.ApiError(errors.PARAM_ERROR, f"Invalid state value: {value}", -1)
    return OFFERING_STATES[value.lower()]


async def _visible_domains(
    ctx: CallContext, args: dict[str, Any], kind: str
) -> tuple[int, ...] | None:
    """Domains whose dedicated offerings the caller sees: its own and those above it, and with
    isrecursive (admins only) those below it; None for root admins (everything). A `domainid`
    must be the caller's domain or one above it."""
    caller = ctx.caller
    if caller.is_root_admin:
        return await _owner_domains(ctx, args)
    recursive = bool(args.get("isrecursive"))
    if recursive and caller.account_type == ACCOUNT_USER:
        raise errors.invalid_parameter(
            f"Only ROOT admins and Domain admins can list {kind} offerings with isrecursive=true"
        )
    async with ctx.db.engine.connect() as conn:
        visible = set(await accounts.ancestor_domain_ids(conn, caller.domain_path))
        if recursive:
            visible.update(await accounts.subtree_domain_ids(conn, caller.domain_path))
    domain_id = args.get("domainid")
    if isinstance(domain_id, int) and domain_id not in visible:
        raise errors.permission_denied(
            f"The account:{caller.account_name} does not fall in the same domain hierarchy as "
            f"the {kind} offering"
        )
    return tuple(sorted(visible))


async def _owner_domains(ctx: CallContext, args: dict[str, Any]) -> tuple[int, ...] | None:
    """A root admin naming an owner (domainid with account, as the deploy wizard does) sees
    what that owner may use: public offerings and those of its domain and the ones above."""
    domain_id = args.get("domainid")
    if not isinstance(domain_id, int) or not args.get("account"):
        return None
    async with ctx.db.engine.connect() as conn:
        path = await accounts.domain_path_of(conn, domain_id)
        return await accounts.ancestor_domain_ids(conn, path) if path else ()


def _storage_type(args: dict[str, Any]) -> bool | None:
    value = str(args.get("storagetype", "")).lower()
    return {"local": True, "shared": False}.get(value)


async def _offering_filter(
    ctx: CallContext, args: dict[str, Any], kind: str
) -> offerings.OfferingFilter:
    return offerings.OfferingFilter(
        ids=ids_of(args),
        name=args.get("name"),
        keyword=args.get("keyword"),
        state=_offering_state(args),
        # Only root admins narrow the list to one domain's offerings, and only when no owner
        # account is named (upstream reads domainid with account as the owner's domain).
        domain_id=args.get("domainid")
        if ctx.caller.is_root_admin and not args.get("account")
        else None,
        zone_id=args.get("zoneid"),
        visible_domain_ids=await _visible_domains(ctx, args, kind),
        system=bool(args.get("issystem")),
        system_vm_type=args.get("systemvmtype"),
        local_storage=_storage_type(args),
    )


async def _for_vm(
    ctx: CallContext, vm_id: int, filters: offerings.OfferingFilter
) -> offerings.OfferingFilter:
    """Only offerings the VM may be scaled to: not its current fixed offering, and with the
    same root-disk strictness (and then the same disk offering)."""
    caller = ctx.caller
    async with ctx.db.engine.connect() as conn:
        found = await offerings.vm_offering(conn, vm_id)
    if found is None:
        raise errors.invalid_parameter("unable to find a virtual machine with specified id")
    allowed = caller.is_root_admin or (
        found.account_id == caller.account_id
        if caller.account_type == ACCOUNT_USER
        else found.domain_path.startswith(caller.domain_path)
    )
    if not allowed:
        raise errors.permission_denied()
    return replace(
        filters,
        exclude_id=None if found.dynamic else found.offering_id,
        strict=found.strict,
        disk_offering_id=found.disk_offering_id if found.strict else None,
        # The new offering must keep the root disk on the same kind of storage.
        local_storage=found.local_storage,
    )


async def list_service_offerings(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    if args.get("issystem") and not ctx.caller.is_root_admin:
        raise errors.invalid_parameter("Only ROOT admins can access system offerings.")
    filters = await _offering_filter(ctx, args, "service")
    vm_id = args.get("virtualmachineid")
    if isinstance(vm_id, int) and vm_id > 0:
        filters = await _for_vm(ctx, vm_id, filters)
    if wants_id(args) and not [i for i in filters.ids if i > 0]:
        return empty(ctx)
    async with ctx.db.engine.connect() as conn:
        page = await offerings.service_offerings(conn, filters, paging.offset, paging.limit)
        places = await offerings.placements(
            conn,
            service_offering_details,
            [row.id for row in page.rows],
            not ctx.caller.is_root_admin,
        )
    return listed(ctx, page, lambda row: service_offering.present(row, places[row.id]))


async def list_disk_offerings(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    filters = await _offering_filter(ctx, args, "disk")
    if isinstance(args.get("domainid"), int) and "account" not in args:
        # Upstream answers a domainid with that domain's own offerings, other filters unread.
        filters = offerings.OfferingFilter(state=filters.state, domain_id=args["domainid"])
    if wants_id(args) and not [i for i in filters.ids if i > 0]:
        return empty(ctx)
    async with ctx.db.engine.connect() as conn:
        page = await offerings.disk_offerings(conn, filters, paging.offset, paging.limit)
        places = await offerings.placements(
            conn, disk_offering_details, [row.id for row in page.rows], not ctx.caller.is_root_admin
        )
    return listed(ctx, page, lambda row: disk_offering.present(row, places[row.id]))


COMMANDS: list[Command] = [
    declare(
        "listTemplates",
        subsystem="template",
        handler=list_templates,
        summary="Templates per zone by filter: featured, own, shared, usable, community or all.",
    ),
    declare(
        "listServiceOfferings",
        subsystem="offering",
        handler=list_service_offerings,
        summary="Compute offerings visible to the caller's domain; system ones for root admins.",
    ),
    declare(
        "listDiskOfferings",
        subsystem="offering",
        handler=list_disk_offerings,
        summary="Disk offerings visible to the caller's domain, with size and I/O limits.",
    ),
]
