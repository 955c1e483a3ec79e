"""deployVirtualMachine's job: the VM row and its resource counts exist (the create phase
wrote them with the job); the job allocates NICs and volumes, reserves host capacity and
starts the VM — or, with startvm=false, stops after the allocations.

A failure undoes every step in reverse and leaves the VM in state Error with `removed` set,
so no half-created VM is ever listed, and gives the owner's resource counts back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.hypervisor.driver import HypervisorError
from engine.lifecycle import Process, Step, StepContext, StepFailedError
from engine.vm import nic_alloc, steps, volume_alloc
from engine.vm.step_state import once
from schema_bridge import limits, vm_create, vm_state
from schema_bridge.dialect import utc_now
from schema_bridge.vm_create import UsageEvent
from schema_bridge.vm_state import VmStates

COUNTS_KEY = "counts_returned"
USAGE_KEY = "usage_recorded"
ERROR = "Error"


class DeployVmStates(VmStates):
    """VM states for deploys: reaching Error also marks the VM removed, in the same CAS."""

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        if to_state != ERROR:
            return await super().transit(conn, resource_id, from_states, to_state)
        current = await vm_state.placement(conn, resource_id)
        if current is None or current.state not in from_states:
            return False
        return await vm_state.cas(conn, current, ERROR, removed=utc_now(), power_state="PowerOff")


async def keep_counts(ctx: StepContext) -> None:
    """The create phase already counted the VM; this step only exists for its undo."""


async def return_counts(ctx: StepContext) -> None:
    """Undo: give the owner (and its domains) back what the create phase counted."""
    counted: dict[str, int] = {k: -int(v) for k, v in ctx.args.get("counted", {}).items()}

    async def give_back(conn: AsyncConnection) -> bool:
        chain = await limits.domain_parents(conn, int(ctx.state.get("domain_id", 1)))
        await vm_create.change_counts(conn, ctx.job.account_id, chain, counted)
        return True

    await once(ctx, COUNTS_KEY, give_back)


async def start_vm(ctx: StepContext) -> None:
    """Define and start the VM on the host reserve_capacity chose."""
    try:
        await steps.start_on_host(ctx)
    except HypervisorError as error:
        vm = await vm_state_of(ctx)
        raise StepFailedError(
            530, f"Unable to start VM {vm.instance_name} ({vm.uuid}) on its host: {error}"
        ) from error


async def vm_state_of(ctx: StepContext) -> vm_state.VmPlacement:
    async with ctx.db.reader.connect() as conn:
        found = await vm_state.placement(conn, ctx.resource_id)
    if found is None:
        raise StepFailedError(431, f"virtual machine id {ctx.resource_id} no longer exists")
    return found


async def undefine_vm(ctx: StepContext) -> None:
    """Undo of start_vm: power off and undefine the VM on the host it was placed on (the
    reservation's undo then gives the capacity back and clears the host)."""
    vm = await vm_state_of(ctx)
    if vm.host_id is None:
        return
    driver = await ctx.hypervisor(vm.host_id)
    await driver.stop(vm.instance_name, forced=True)
    await driver.destroy(vm.instance_name)


def _usage_events(ctx: StepContext, vm: vm_state.VmPlacement, started: bool) -> list[UsageEvent]:
    args: dict[str, Any] = ctx.args
    template_id = int(args["root"]["template"])
    created = UsageEvent(
        "VM.CREATE",
        account_id=ctx.job.account_id,
        zone_id=vm.zone_id,
        resource_id=vm.id,
        resource_name=str(args.get("host_name", vm.instance_name)),
        offering_id=vm.service_offering_id,
        template_id=template_id,
        resource_type=vm.hypervisor_type,
        details=tuple((str(k), str(v)) for k, v in args.get("usage_details", [])),
    )
    events = [created]
    for volume in ctx.state.get(volume_alloc.VOLUMES_KEY, []):
        root = str(volume["name"]).startswith("ROOT-")
        source = args["root"] if root else args["data"]
        events.append(
            UsageEvent(
                "VOLUME.CREATE",
                account_id=ctx.job.account_id,
                zone_id=vm.zone_id,
                resource_id=int(volume["id"]),
                resource_name=str(volume["name"]),
                offering_id=int(source["offering"]),
                template_id=template_id if root else None,
                size=int(volume["size"]),
            )
        )
    if started:
        events.append(dataclasses.replace(created, type="VM.START"))
    return events


async def record_usage(ctx: StepContext) -> None:
    """VM.CREATE, VOLUME.CREATE for each volume and (when started) VM.START usage events."""
    vm = await vm_state_of(ctx)
    events = _usage_events(ctx, vm, started=vm.host_id is not None)

    async def write(conn: AsyncConnection) -> int:
        await vm_create.record_usage(conn, events, utc_now())
        return len(events)

    await once(ctx, USAGE_KEY, write)


_COUNTS = Step("account resources", keep_counts, return_counts)
_NICS = Step("allocate nics", nic_alloc.allocate_nics, nic_alloc.release_nics)
_VOLUMES = Step("create volumes", volume_alloc.create_volumes, volume_alloc.remove_volumes)
_USAGE = Step("record usage", record_usage)

DEPLOY = Process(
    name="vm.deploy",
    command="deployVirtualMachine",
    event_type="VM.CREATE",
    resource_type="VirtualMachine",
    resources=DeployVmStates(),
    start_states=("Stopped",),
    transitioning="Starting",
    done="Running",
    error=ERROR,
    steps=(
        _COUNTS,
        _NICS,
        _VOLUMES,
        Step("reserve capacity", steps.reserve_capacity, steps.release_reserved),
        Step("start on host", start_vm, undefine_vm),
        _USAGE,
    ),
)

# startvm=false: everything is allocated, nothing runs; the VM stays Stopped.
DEPLOY_STOPPED = Process(
    name="vm.deploy.stopped",
    command="deployVirtualMachine",
    event_type="VM.CREATE",
    resource_type="VirtualMachine",
    resources=DeployVmStates(),
    start_states=("Stopped",),
    transitioning="Stopped",
    done="Stopped",
    error=ERROR,
    steps=(_COUNTS, _NICS, _VOLUMES, _USAGE),
)

PROCESSES = {DEPLOY.command: DEPLOY}
VARIANTS = {p.name: p for p in (DEPLOY, DEPLOY_STOPPED)}
