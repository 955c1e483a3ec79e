"""listSystemVms: the zone's console proxies and secondary storage VMs."""

from __future__ import annotations

from typing import Any

from compat_api import errors, shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.params import is_uuid
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses.vm import _control_state as control_state
from schema_bridge import system_vms

SYSTEM_VM = shapes.Shape("systemvm", facts_for("listSystemVms").response_field_names, {})


async def _system_vm_id(ctx: CallContext, value: Any) -> int | None:
    """The dispatcher leaves system VM uuids unresolved; resolve (or refuse) them here."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    async with ctx.db.engine.connect() as conn:
        found = await system_vms.id_by_uuid(conn, text) if is_uuid(text) else None
    if found is None:
        raise errors.unknown_uuid(ctx.command.name, "id", text)
    return found


def _present(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row.uuid,
        "systemvmtype": str(row.type).lower(),
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "dns1": row.dns1,
        "dns2": row.dns2,
        "name": row.vm_host_name,
        "podid": row.pod_uuid,
        "podname": row.pod_name,
        "hypervisor": row.hypervisor_type,
        "privateip": row.private_ip_address,
        "privatemacaddress": row.private_mac_address,
        "publicip": row.public_ip,
        "publicmacaddress": row.public_mac,
        "publicnetmask": row.public_netmask,
        "templateid": row.template_uuid,
        "templatename": row.template_name,
        "created": row.created,
        "state": row.state,
        "agentstate": row.agent_state,
        "disconnected": row.agent_disconnected,
        "version": row.agent_version,
        "isdynamicallyscalable": bool(row.dynamically_scalable),
        "serviceofferingid": row.offering_uuid,
        "serviceofferingname": row.offering_name,
        "hasannotations": bool(row.has_annotations),
    }
    if row.type == "ConsoleProxy" and row.active_session is not None:
        values["activeviewersessions"] = int(row.active_session)
    if row.host_uuid is not None:
        values["hostid"] = row.host_uuid
        values["hostname"] = row.host_name
        values["hostcontrolstate"] = control_state(row.host_status, row.host_resource_state)
    return SYSTEM_VM.build(values)


async def list_system_vms(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    f = system_vms.SystemVmFilter(
        id=await _system_vm_id(ctx, args.get("id")),
        name=args.get("name"),
        state=args.get("state"),
        type=args.get("systemvmtype"),
        zone_id=args.get("zoneid"),
        pod_id=args.get("podid"),
        host_id=args.get("hostid"),
        storage_id=args.get("storageid"),
        keyword=args.get("keyword"),
        admin_annotations=ctx.caller.is_root_admin,
    )
    async with ctx.db.engine.connect() as conn:
        page = await system_vms.system_vms_page(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, SYSTEM_VM.name)


COMMANDS: list[Command] = [
    declare(
        "listSystemVms",
        subsystem="vm",
        handler=list_system_vms,
        roles=ADMINS,
        summary="Console proxies and secondary storage VMs with their host, agent state and "
        "addresses.",
    ),
]
