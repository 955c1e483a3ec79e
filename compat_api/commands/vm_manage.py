"""VM management beyond power: destroy and expunge (engine jobs), recover (synchronous), and
the declarations of update, scale and change-offering (handlers in vm_update/vm_offering).

Every refusal CloudStack makes before its work starts is made here, at once, with its code
and text; the job only runs what can still fail on a host.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner, started, submit_job
from compat_api.caller import Caller
from compat_api.commands import vm_offering, vm_update
from compat_api.commands.vm_target import (
    flag,
    is_admin,
    limit_error,
    owned_vm,
    owner_of,
    present,
    record_event,
    required_id,
)
from compat_api.context import CallContext
from compat_api.registry import Command, declare
from compat_api.render import ObjectResult, Result
from engine.vm.teardown import DESTROY, EXPUNGE
from schema_bridge import job_queue, resource_counts, vm_teardown
from schema_bridge import vm_accounting as acct
from schema_bridge.tables import volumes
from schema_bridge.vm_teardown import VmFacts

ALLOW_USER_EXPUNGE: Final = "allow.user.expunge.recover.vm"
DESTROY_FORCESTOP: Final = "vm.destroy.forcestop"
EXPUNGE_DENIED: Final = (
    "Parameter expunge can be passed by Admin only. Or when the "
    "allow.user.expunge.recover.vm key is set."
)


async def _may_expunge(conn: AsyncConnection, caller: Caller, account_id: int) -> bool:
    """Admins may always expunge and recover; users when their account's setting allows."""
    return is_admin(caller) or await flag(conn, ALLOW_USER_EXPUNGE, account_id=account_id)


def _not_found(vm: VmFacts) -> errors.ApiError:
    return errors.invalid_parameter(f"unable to find a virtual machine with id {vm.uuid}")


def _wrong_state(vm: VmFacts) -> errors.ApiError:
    return errors.invalid_parameter(f"Vm with id {vm.uuid} is not in the right state")


async def _doomed_volumes(
    ctx: CallContext, conn: AsyncConnection, vm: VmFacts, ids: Iterable[int]
) -> list[int]:
    """`volumeids` of destroyVirtualMachine: data disks of this VM, unprotected, the caller's."""
    wanted = [int(v) for v in ids]
    if not wanted:
        return []
    rows = {int(r.id): r for r in await acct.volume_rows(conn, volumes.c.id.in_(wanted))}
    missing = [v for v in wanted if v not in rows]
    if missing:
        raise errors.invalid_parameter("Unable to find volume with ID: " + str(missing[0]))
    strays = [r for r in rows.values() if r.instance_id != vm.id or r.volume_type != "DATADISK"]
    if strays:
        listed = "".join(f"Volume {{uuid: {r.uuid}, name: {r.name}}}; " for r in strays)
        raise errors.invalid_parameter(
            f"The following supplied volumes are not DATADISK attached to the VM: {listed}"
        )
    for row in rows.values():
        if row.delete_protection:
            raise errors.invalid_parameter(
                f"Volume [id = {row.uuid}, name = {row.name}] has delete protection enabled "
                "and cannot be deleted"
            )
        await check_owner(conn, ctx.caller, Owner(int(row.account_id), int(row.domain_id)))
    return wanted


async def destroy_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    expunge = bool(args.get("expunge"))
    async with ctx.db.engine.begin() as conn:
        vm = await owned_vm(ctx, conn, required_id(ctx, args, "id"))
        if expunge and not await _may_expunge(conn, ctx.caller, vm.account_id):
            raise errors.permission_denied(EXPUNGE_DENIED)
        if vm.removed:
            raise _not_found(vm)
        queued = await job_queue.has_pending(conn, "VirtualMachine", vm.id)
        if vm.state not in DESTROY.start_states and not queued:
            raise _wrong_state(vm)
        if vm.delete_protection and (vm.state != "Destroyed" or expunge):
            raise errors.invalid_parameter(
                f"Instance [id = {vm.uuid}, name = {vm.name}] has delete protection enabled "
                "and cannot be deleted."
            )
        doomed = await _doomed_volumes(ctx, conn, vm, args.get("volumeids") or ())
        step_args = {
            "expunge": expunge,
            "volumeids": doomed,
            "forced": await flag(conn, DESTROY_FORCESTOP),
        }
        job = await submit_job(ctx, conn, DESTROY, vm.id, vm.uuid, owner_of(vm), step_args)
    return started(ctx, job)


async def expunge_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        vm = await owned_vm(ctx, conn, required_id(ctx, args, "id"))
        queued = await job_queue.has_pending(conn, "VirtualMachine", vm.id)
        if not vm.removed and vm.state not in EXPUNGE.start_states and not queued:
            # A CloudRuntimeException the command turns into a ServerApiException.
            raise errors.ApiError(
                errors.INTERNAL_ERROR,
                "Please destroy vm with specified vmId before expunge",
                errors.CS_SERVER_API,
            )
        if not await _may_expunge(conn, ctx.caller, ctx.caller.account_id):
            raise errors.permission_denied(
                "Expunging a vm can only be done by an Admin. Or when the "
                "allow.user.expunge.recover.vm key is set."
            )
        job = await submit_job(ctx, conn, EXPUNGE, vm.id, vm.uuid, owner_of(vm), {"expunge": True})
    return started(ctx, job)


async def recover_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        vm = await owned_vm(ctx, conn, required_id(ctx, args, "id"))
        if not await _may_expunge(conn, ctx.caller, ctx.caller.account_id):
            raise errors.permission_denied(
                "Recovering a vm can only be done by an Admin. Or when the "
                "allow.user.expunge.recover.vm key is set."
            )
        if vm.removed:
            raise errors.invalid_parameter(f"Unable to find vm by id {vm.uuid}")
        if vm.state != "Destroyed":
            raise _wrong_state(vm)
        try:
            await vm_teardown.recover(conn, vm.id)
        except resource_counts.LimitExceededError as exceeded:
            raise limit_error(exceeded) from exceeded
        except vm_teardown.VmChangedError as exc:
            raise errors.invalid_parameter(
                f"Unable to recover the vm because it is not in the correct state: {vm.uuid}"
            ) from exc
        await record_event(ctx, conn, vm, "VM.RECOVER", "Recovering VM")
        shown = await present(ctx, conn, vm.id)
    return ObjectResult(shown, "virtualmachine")


COMMANDS: list[Command] = [
    declare(
        "destroyVirtualMachine",
        subsystem="vm",
        handler=destroy_vm,
        summary="Stop a VM and destroy it (recoverable until expunged); with expunge=true "
        "also expunge it. Named data disks are deleted, the others detached.",
    ),
    declare(
        "expungeVirtualMachine",
        subsystem="vm",
        handler=expunge_vm,
        summary="Remove a destroyed VM for good: its addresses, NICs and volumes are released.",
    ),
    declare(
        "recoverVirtualMachine",
        subsystem="vm",
        handler=recover_vm,
        summary="Bring a destroyed VM back as Stopped, counted against its owner's limits again.",
    ),
    declare(
        "updateVirtualMachine",
        subsystem="vm",
        handler=vm_update.update_vm,
        summary="Change a VM's names, group, HA, OS type, user data, details and flags.",
    ),
    declare(
        "scaleVirtualMachine",
        subsystem="vm",
        handler=vm_offering.scale_vm,
        summary="Move a VM to another compute offering; live on a running VM when dynamic "
        "scaling is enabled for it, its offering and its zone.",
    ),
    declare(
        "changeServiceForVirtualMachine",
        subsystem="vm",
        handler=vm_offering.change_service,
        summary="Move a stopped VM to another compute offering.",
    ),
]
