"""listRouters: the virtual routers of the accounts the caller may see."""

from __future__ import annotations

import re
from typing import Any

from compat_api import shapes
from compat_api.caller import Caller
from compat_api.commands.accounts import list_scope
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses.owned import owner
from compat_api.responses.vm import _control_state as control_state
from schema_bridge import configuration, routers

ROUTER = shapes.Shape("router", facts_for("listRouters").response_field_names, {})
# The release string a router template reports: "Cloudstack Release 4.20.0 ...".
RELEASE = re.compile(r"^\d+(\.\d+){2,3}(-[a-zA-Z]+)?(-\d+)?(-SNAPSHOT)?$")
MIN_VERSION_SETTING = "minreq.sysvmtemplate.version"
MIN_VERSION_DEFAULT = "4.10.0"


def router_version(template_version: str | None) -> str | None:
    if template_version is None:
        return None
    tokens = template_version.split(" ")
    return tokens[2] if len(tokens) >= 3 and RELEASE.match(tokens[2]) else "0"


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0]))


def _version_fields(template_version: str | None, minimum: str) -> dict[str, Any]:
    version = router_version(template_version)
    if version is None:
        return {"version": "UNKNOWN", "requiresupgrade": True}
    return {"version": version, "requiresupgrade": _numbers(version) < _numbers(minimum)}


def _sees_placement(caller: Caller) -> bool:
    """Hosts, pods and addresses are shown to root and resource admins only."""
    return caller.is_root_admin or caller.role_type == "ResourceAdmin"


def _placement(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "podid": row.pod_uuid,
        "podname": row.pod_name,
        "publicip": row.public_ip_address,
        "publicmacaddress": row.public_mac_address,
        "publicnetmask": row.public_netmask,
        "guestipaddress": row.guest_ip_address,
        "guestnetmask": row.guest_netmask,
    }
    if row.host_uuid is not None:
        values["hostid"] = row.host_uuid
        values["hostname"] = row.host_name
        values["hostcontrolstate"] = control_state(row.host_status, row.host_resource_state)
    return values


def _present(row: Any, caller: Caller, minimum: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row.uuid,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "dns1": row.dns1,
        "dns2": row.dns2,
        "ip6dns1": row.ip6_dns1,
        "ip6dns2": row.ip6_dns2,
        "name": row.name,
        "hypervisor": row.hypervisor_type,
        "templateid": row.template_uuid,
        "templatename": row.template_name,
        "created": row.created,
        "state": row.state,
        **owner(row),
        "domainpath": row.domain_path,
        "serviceofferingid": row.offering_uuid,
        "serviceofferingname": row.offering_name,
        "isredundantrouter": bool(row.is_redundant_router),
        "redundantstate": row.redundant_state,
        "scriptsversion": row.scripts_version,
        "vpcid": row.vpc_uuid,
        "vpcname": row.vpc_name,
        "role": row.role,
        "softwareversion": row.software_version,
        "arch": row.arch,
        "hasannotations": bool(row.has_annotations),
        **_version_fields(row.template_version, minimum),
    }
    if _sees_placement(caller):
        values.update(_placement(row))
    return ROUTER.build(values)


def _filter(args: dict[str, Any], scoped: Any, caller: Caller) -> routers.RouterFilter:
    return routers.RouterFilter(
        id=args.get("id"),
        name=args.get("name"),
        state=args.get("state"),
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        cluster_id=args.get("clusterid"),
        host_id=args.get("hostid"),
        network_id=args.get("networkid"),
        vpc_id=args.get("vpcid"),
        for_vpc=args.get("forvpc"),
        version=args.get("version"),
        keyword=args.get("keyword"),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
        admin_annotations=caller.is_root_admin,
    )


async def list_routers(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    scoped = await list_scope(ctx, args)
    f = _filter(args, scoped, ctx.caller)
    async with ctx.db.engine.connect() as conn:
        page = await routers.routers_page(conn, f, paging.offset, paging.limit)
        setting = (await configuration.values(conn, [MIN_VERSION_SETTING]))[MIN_VERSION_SETTING]
    minimum = setting or MIN_VERSION_DEFAULT
    items = [_present(row, ctx.caller, minimum) for row in page.rows]
    return ListResult(items, page.total, ROUTER.name)


COMMANDS: list[Command] = [
    declare(
        "listRouters",
        subsystem="network",
        handler=list_routers,
        roles=ADMINS,
        summary="Virtual routers of the accounts the caller may see; hosts, pods and addresses "
        "for root and resource admins only.",
    ),
]
