"""VM power actions served by the engine: start, stop, reboot (async jobs)."""

from __future__ import annotations

from typing import Any

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner, started, submit_job
from compat_api.context import CallContext
from compat_api.registry import Command, declare
from compat_api.render import Result
from engine.lifecycle import Process
from engine.vm.processes import REBOOT, START, STOP
from schema_bridge import job_queue, vm_state

_ALLOWED = {
    "startVirtualMachine": ("Stopped",),
    "stopVirtualMachine": ("Running", "Stopped"),
    "rebootVirtualMachine": ("Running",),
}


async def _act(
    ctx: CallContext, args: dict[str, Any], process: Process, step_args: dict[str, Any]
) -> Result:
    vm_id = int(args["id"])
    async with ctx.db.engine.begin() as conn:
        vm = await vm_state.placement(conn, vm_id)
        if vm is None or vm.state in ("Destroyed", "Expunging", "Error"):
            raise errors.invalid_parameter(
                f"Unable to find virtual machine with specified id {_uuid(vm)}"
            )
        await check_owner(conn, ctx.caller, Owner(vm.account_id, vm.domain_id))
        queued = await job_queue.has_pending(conn, "VirtualMachine", vm_id)
        if not queued and vm.state not in _ALLOWED[ctx.command.name]:
            raise errors.invalid_parameter(
                f"Virtual machine {vm.uuid} is in state {vm.state}; {ctx.command.name} needs "
                f"{' or '.join(_ALLOWED[ctx.command.name])}"
            )
        job = await submit_job(
            ctx, conn, process, vm_id, vm.uuid, Owner(vm.account_id, vm.domain_id), step_args
        )
    return started(ctx, job)


def _uuid(vm: vm_state.VmPlacement | None) -> str:
    return vm.uuid if vm else "(removed)"


async def start_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    host = args.get("hostid") if ctx.caller.is_root_admin else None
    return await _act(ctx, args, START, {"hostid": host})


async def stop_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    return await _act(ctx, args, STOP, {"forced": bool(args.get("forced"))})


async def reboot_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    return await _act(ctx, args, REBOOT, {})


COMMANDS: list[Command] = [
    declare(
        "startVirtualMachine",
        subsystem="vm",
        handler=start_vm,
        summary="Start a stopped VM on a host with room (admins may name the host).",
    ),
    declare(
        "stopVirtualMachine",
        subsystem="vm",
        handler=stop_vm,
        summary="Stop a running VM, gracefully or forced, and give its host capacity back.",
    ),
    declare(
        "rebootVirtualMachine",
        subsystem="vm",
        handler=reboot_vm,
        summary="Reboot a running VM in place on its host.",
    ),
]
