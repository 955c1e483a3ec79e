"""updateVirtualMachine: a VM's names, group, HA, OS type, user data, details and flags,
checked and written as UserVmManagerImpl.updateVirtualMachine does, in one transaction."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final
from urllib.parse import unquote

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.commands.vm_offering import custom_values
from compat_api.commands.vm_target import flag, owned_vm, present, record_event, required_id
from compat_api.context import CallContext
from compat_api.render import ObjectResult, Result
from compat_api.responses.vm import DENIED_DETAILS, READ_ONLY_DETAILS
from schema_bridge import vm_accounting as acct
from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.tables import (
    guest_os,
    instance_group,
    instance_group_vm_map,
    networks,
    nics,
    user_vm,
    user_vm_details,
    vm_instance,
    vm_template,
)
from schema_bridge.vm_teardown import VmFacts

HOST_NAME: Final = re.compile(r"^[A-Za-z0-9-]{1,63}$")
BASE64: Final = re.compile(r"^[A-Za-z0-9+/=_\-\s]*$")
READ_ONLY: Final = frozenset(n.strip() for n in READ_ONLY_DETAILS.split(","))
MAX_GET_USERDATA: Final = 4096
MAX_POST_USERDATA: Final = 1048576
BAD_NAME: Final = (
    "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through "
    "'9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or "
    'end with "-" and can\'t start with digit'
)


def user_data(value: str, http_method: str) -> str:
    """UserDataManager.validateUserData: base64 within the method's size, re-encoded."""
    text = unquote(value) if "%" in value else value
    if not BASE64.match(text):
        raise errors.invalid_parameter("User data is not base64 encoded")
    limit = MAX_GET_USERDATA if http_method.upper() == "GET" else MAX_POST_USERDATA
    if len(text) >= limit:
        raise errors.invalid_parameter(f"User data is too long for an http {http_method} request")
    compact = re.sub(r"\s", "", text).replace("-", "+").replace("_", "/")
    try:
        decoded = base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid_parameter("User data is not base64 encoded") from exc
    if not decoded:
        raise errors.invalid_parameter("User data is too short")
    return base64.b64encode(decoded).decode()


def check_host_name(name: str) -> None:
    if not HOST_NAME.match(name) or name.startswith("-") or name.endswith("-") or name[0].isdigit():
        raise errors.invalid_parameter(BAD_NAME)


async def _check_name_unique(conn: AsyncConnection, vm: VmFacts, name: str) -> None:
    """checkIfHostNameUniqueInNtwkDomain: no other VM of the VM's networks has the name."""
    mine = select(nics.c.network_id).where(nics.c.instance_id == vm.id, nics.c.removed.is_(None))
    query = (
        select(networks.c.name, networks.c.network_domain)
        .select_from(nics)
        .join(networks, networks.c.id == nics.c.network_id)
        .join(vm_instance, vm_instance.c.id == nics.c.instance_id)
        .where(nics.c.network_id.in_(mine), nics.c.removed.is_(None))
        .where(vm_instance.c.name == name, vm_instance.c.id != vm.id)
        .where(vm_instance.c.removed.is_(None))
    )
    clash = (await conn.execute(query)).first()
    if clash is not None:
        raise errors.invalid_parameter(
            f"The vm with hostName {name} already exists in the network domain: "
            f"{clash.network_domain}; network={clash.name}"
        )


async def _check_scalable(conn: AsyncConnection, vm: VmFacts) -> None:
    template = (
        await conn.execute(
            select(vm_template.c.dynamically_scalable).where(vm_template.c.id == vm.template_id)
        )
    ).scalar()
    if not template:
        raise errors.invalid_parameter(
            "Dynamic Scaling cannot be enabled for the VM since its template does not have "
            "dynamic scaling enabled"
        )
    found = await acct.offering(conn, vm.service_offering_id)
    if found is None or not found.dynamic_scaling:
        raise errors.invalid_parameter(
            "Dynamic Scaling cannot be enabled for the VM since its service offering does not "
            "have dynamic scaling enabled"
        )
    if not await flag(conn, "enable.dynamic.scale.vm", zone_id=vm.zone_id):
        raise errors.invalid_parameter(
            "Dynamic Scaling cannot be enabled for the VM since corresponding global setting is "
            "set to false"
        )


async def _replace_details(
    ctx: CallContext, conn: AsyncConnection, vm: VmFacts, args: dict[str, Any]
) -> None:
    """`details` replace the VM's settings (hidden and read-only ones kept for non-admins);
    `cleanupdetails` removes them (all of them only for root admins)."""
    admin = ctx.caller.is_root_admin
    kept = DENIED_DETAILS | READ_ONLY
    current = await acct.vm_details(conn, vm.id)
    if args.get("cleanupdetails"):
        doomed = [n for n in current if admin or n not in kept]
        await _drop_details(conn, vm.id, doomed)
        return
    wanted = custom_values(args)
    if not wanted:
        return
    if "extraconfig" in wanted:
        raise errors.invalid_parameter("'extraconfig' should not be included in details as key")
    if not admin:
        for name in wanted:
            if name in DENIED_DETAILS:
                raise errors.invalid_parameter(
                    f"You're not allowed to add or edit the restricted setting: {name}"
                )
            if name in READ_ONLY:
                raise errors.invalid_parameter(
                    f"You're not allowed to add or edit the read-only setting: {name}"
                )
        wanted.update({n: v for n, v in current.items() if n in kept})
    await _drop_details(conn, vm.id, list(current))
    rows = [{"vm_id": vm.id, "name": n, "value": v, "display": True} for n, v in wanted.items()]
    await conn.execute(insert(user_vm_details), rows)


async def _drop_details(conn: AsyncConnection, vm_id: int, names: list[str]) -> None:
    if names:
        await conn.execute(
            delete(user_vm_details).where(
                user_vm_details.c.vm_id == vm_id, user_vm_details.c.name.in_(names)
            )
        )


async def _join_group(conn: AsyncConnection, vm: VmFacts, name: str) -> None:
    """addInstanceToGroup: the owner's group of that name (created if needed), only that one."""
    query = select(instance_group.c.id).where(
        and_(
            instance_group.c.account_id == vm.account_id,
            instance_group.c.name == name,
            instance_group.c.removed.is_(None),
        )
    )
    group_id = (await conn.execute(query)).scalar()
    if group_id is None:
        created = await conn.execute(
            insert(instance_group).values(
                account_id=vm.account_id, name=name, uuid=new_uuid(), created=utc_now()
            )
        )
        key = created.inserted_primary_key
        assert key is not None
        group_id = key[0]
    await conn.execute(
        delete(instance_group_vm_map).where(instance_group_vm_map.c.instance_id == vm.id)
    )
    await conn.execute(insert(instance_group_vm_map).values(group_id=group_id, instance_id=vm.id))


async def _set_display(conn: AsyncConnection, vm: VmFacts, shown: bool) -> None:
    """updateDisplayVmFlag: hidden VMs do not count against their owner."""
    size = await acct.compute_of(conn, vm.id, vm.service_offering_id)
    sign = 1 if shown else -1
    await acct.count(conn, vm.account_id, acct.vm_deltas(size, sign))


async def _checked_values(
    ctx: CallContext, conn: AsyncConnection, vm: VmFacts, args: dict[str, Any]
) -> dict[str, Any]:
    """The vm_instance columns to write, each checked as CloudStack checks it."""
    values: dict[str, Any] = {}
    if "haenable" in args:
        found = await acct.offering(conn, vm.service_offering_id)
        if args["haenable"] and (found is None or not found.ha_enabled):
            raise errors.invalid_parameter(
                "Can't enable ha for the vm as it's created from the Service offering having HA "
                "disabled"
            )
        values["ha_enabled"] = bool(args["haenable"])
    if "ostypeid" in args:
        os_query = select(guest_os.c.id).where(
            guest_os.c.id == args["ostypeid"], guest_os.c.removed.is_(None)
        )
        if (await conn.execute(os_query)).scalar() is None:
            raise errors.invalid_parameter("Please specify a valid guest OS ID.")
        values["guest_os_id"] = int(args["ostypeid"])
    if args.get("isdynamicallyscalable"):
        await _check_scalable(conn, vm)
    if "isdynamicallyscalable" in args:
        values["dynamically_scalable"] = bool(args["isdynamicallyscalable"])
    if "name" in args and args["name"] != vm.name:
        check_host_name(args["name"])
        await _check_name_unique(conn, vm, args["name"])
        values["name"] = values["host_name"] = args["name"]
    if "deleteprotection" in args:
        values["delete_protection"] = bool(args["deleteprotection"])
    if ctx.caller.is_root_admin and "customid" in args:
        values["uuid"] = args["customid"]
    return values


async def _write(
    ctx: CallContext, conn: AsyncConnection, vm: VmFacts, args: dict[str, Any]
) -> None:
    values = await _checked_values(ctx, conn, vm, args)
    vm_row: dict[str, Any] = {}
    if "displayname" in args:
        values["display_name"] = vm_row["display_name"] = args["displayname"]
    if "userdata" in args:
        vm_row["user_data"] = user_data(args["userdata"], ctx.http_method)
    shown = args.get("displayvm") if ctx.caller.is_root_admin else None
    if shown is not None and bool(shown) != vm.display_vm:
        await _set_display(conn, vm, bool(shown))
        values["display_vm"] = bool(shown)
    if args.get("group"):
        await _join_group(conn, vm, args["group"])
    await _replace_details(ctx, conn, vm, args)
    if args.get("extraconfig"):
        # Stored as the KVM agent reads it back: one detail per configuration block.
        await _drop_details(conn, vm.id, ["extraconfig-1"])
        extra = {"vm_id": vm.id, "name": "extraconfig-1", "value": unquote(args["extraconfig"])}
        await conn.execute(insert(user_vm_details).values(display=True, **extra))
    await conn.execute(
        update(vm_instance).where(vm_instance.c.id == vm.id).values(update_time=utc_now(), **values)
    )
    if vm_row:
        await conn.execute(update(user_vm).where(user_vm.c.id == vm.id).values(**vm_row))


async def update_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        vm = await owned_vm(ctx, conn, required_id(ctx, args, "id"))
        if vm.removed:
            raise errors.invalid_parameter(f"unable to find virtual machine with id: {vm.uuid}")
        if args.get("extraconfig") and not await flag(
            conn, "enable.additional.vm.configuration", account_id=vm.account_id
        ):
            raise errors.invalid_parameter(
                "attempted setting extraconfig but enable.additional.vm.configuration is disabled"
            )
        if vm.state in ("Error", "Expunging"):
            raise errors.invalid_parameter(f"Vm with id {vm.uuid} is not in the right state")
        await _write(ctx, conn, vm, args)
        await record_event(ctx, conn, vm, "VM.UPDATE", "updating Vm")
        shown = await present(ctx, conn, vm.id)
    return ObjectResult(shown, "virtualmachine")
