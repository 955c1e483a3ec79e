"""scaleVirtualMachine as an engine process: a new compute offering, live when running.

A stopped VM just changes offering (and cpu/memory counts). A running VM first takes the
extra CPU and memory on its host, then the hypervisor gets the bigger definition, then one
transaction switches the offering, moves the counts and writes the VM.DYNAMIC.SCALE usage
event. The VM keeps its state throughout; a failure gives the extra capacity back and puts
the old definition back on the host.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.hypervisor.driver import Driver, PowerState
from engine.lifecycle import Process, Step, StepContext, StepFailedError
from engine.vm import steps
from engine.vm.step_state import once
from schema_bridge import (
    capacity,
    resource_counts,
    vm_accounting,
    vm_devices,
    vm_state,
    vm_teardown,
)

INSUFFICIENT_CAPACITY: Final = 533
INTERNAL_ERROR: Final = 530
RESOURCE_ALLOCATION: Final = 535
# The process keeps the VM in whatever state it is in (Running or Stopped).
IN_PLACE: Final = "(unchanged)"
SETTLED: Final = ("Running", "Stopped")
HOST_KEY: Final = "scale_host_id"  # set when the VM was running: the host it grows on
GROWN_KEY: Final = "growth_reserved"
SHRUNK_KEY: Final = "growth_released"
REDEFINED_KEY: Final = "redefined"


class InPlaceStates:
    """Compare-and-set that leaves the state as it is: only update_count moves, so anyone
    else changing the VM meanwhile is noticed."""

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None:
        return await vm_state.VmStates().state_of(conn, resource_id)

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        seen = await vm_state.placement(conn, resource_id)
        allowed = SETTLED if IN_PLACE in from_states else from_states
        if seen is None or seen.state not in allowed:
            return False
        return await vm_state.cas(conn, seen, seen.state if to_state == IN_PLACE else to_state)


async def _target(
    conn: AsyncConnection, ctx: StepContext
) -> tuple[vm_accounting.Offering, vm_accounting.Compute]:
    offering = await vm_accounting.offering(conn, int(ctx.args["serviceofferingid"]))
    if offering is None:
        raise StepFailedError(431, "the requested service offering no longer exists")
    details: dict[str, str] = dict(ctx.args.get("details") or {})
    return offering, offering.sized(details)


async def _sizes(
    ctx: StepContext,
) -> tuple[vm_state.VmPlacement, vm_accounting.Compute, vm_accounting.Compute]:
    async with ctx.db.engine.connect() as conn:
        vm = await vm_state.placement(conn, ctx.resource_id)
        if vm is None:
            raise StepFailedError(431, f"virtual machine id {ctx.resource_id} no longer exists")
        old = await vm_accounting.compute_of(conn, vm.id, vm.service_offering_id)
        _, new = await _target(conn, ctx)
    return vm, old, new


def _growth(old: vm_accounting.Compute, new: vm_accounting.Compute) -> capacity.Demand:
    return capacity.Demand(
        max(new.cpus * new.speed - old.cpus * old.speed, 0),
        max(new.ram_mb - old.ram_mb, 0) * capacity.MIB,
        max(new.cpus - old.cpus, 0),
    )


async def reserve_growth(ctx: StepContext) -> None:
    """A running VM takes its extra CPU and memory on its own host, or the job fails."""
    vm, old, new = await _sizes(ctx)
    if vm.host_id is None:
        return
    host_id, growth = int(vm.host_id), _growth(old, new)
    ctx.state["growth"] = dataclasses.asdict(growth)
    ctx.state[HOST_KEY] = host_id

    async def work(conn: AsyncConnection) -> None:
        host = await vm_devices.host_row(conn, host_id)
        if host is None or not await capacity.reserve(conn, host_id, host.cluster_id, growth):
            raise StepFailedError(
                INSUFFICIENT_CAPACITY,
                f"Unable to scale VM {vm.uuid}: host {host.name if host else host_id} has not "
                f"{growth.cpu_mhz} MHz and {growth.memory_bytes // capacity.MIB} MB more free",
            )

    await once(ctx, GROWN_KEY, work)


async def release_growth(ctx: StepContext) -> None:
    """Undo of reserve_growth."""
    if GROWN_KEY not in ctx.state:
        return
    host_id, growth = int(ctx.state[HOST_KEY]), capacity.Demand(**ctx.state["growth"])

    async def work(conn: AsyncConnection) -> None:
        await capacity.release(conn, host_id, growth)

    await once(ctx, SHRUNK_KEY, work)


async def _driver(ctx: StepContext, vm: vm_state.VmPlacement) -> Driver:
    driver = await ctx.hypervisor(int(ctx.state[HOST_KEY]))
    if await driver.state(vm.instance_name) is PowerState.MISSING:
        raise StepFailedError(
            INTERNAL_ERROR, f"VM {vm.instance_name} is not defined on host {driver.host}"
        )
    return driver


async def _define(
    ctx: StepContext, driver: Driver, vm: vm_state.VmPlacement, size: vm_accounting.Compute
) -> None:
    spec = dataclasses.replace(
        await steps.spec_of(ctx, vm),
        vcpus=max(size.cpus, 1),
        cpu_speed_mhz=max(size.speed, 1),
        memory_mb=max(size.ram_mb, 1),
    )
    await driver.define(spec)


async def scale_on_host(ctx: StepContext) -> None:
    """The hypervisor gets the VM's new size (running VMs only)."""
    if HOST_KEY not in ctx.state:
        return
    vm, _, new = await _sizes(ctx)
    driver = await _driver(ctx, vm)
    # Set before the call: a host that applied the change but lost the reply still gets
    # the old size back on undo.
    ctx.state[REDEFINED_KEY] = True
    await _define(ctx, driver, vm, new)


async def unscale_on_host(ctx: StepContext) -> None:
    """Undo of scale_on_host: the old size back in the definition."""
    if not ctx.state.get(REDEFINED_KEY):
        return
    vm, old, _ = await _sizes(ctx)
    await _define(ctx, await _driver(ctx, vm), vm, old)


async def apply_offering(ctx: StepContext) -> None:
    """The new offering, the cpu/memory counts and the usage event, in one transaction."""
    running = HOST_KEY in ctx.state

    async def work(conn: AsyncConnection) -> None:
        seen = await vm_state.placement(conn, ctx.resource_id)
        if seen is None or seen.state not in SETTLED:
            state = None if seen is None else seen.state
            raise StepFailedError(INTERNAL_ERROR, f"VM changed to {state} while being scaled")
        offering, size = await _target(conn, ctx)
        usage = "VM.DYNAMIC.SCALE" if running else "VM.UPGRADE"
        try:
            await vm_teardown.change_offering(conn, seen, offering, size, usage)
        except resource_counts.LimitExceededError as exceeded:
            raise StepFailedError(RESOURCE_ALLOCATION, str(exceeded)) from exceeded

    await once(ctx, "offering_applied", work)


SCALE = Process(
    name="vm.scale",
    command="scaleVirtualMachine",
    event_type="VM.UPGRADE",
    resource_type="VirtualMachine",
    resources=InPlaceStates(),
    start_states=SETTLED,
    transitioning=IN_PLACE,
    done=IN_PLACE,
    error=IN_PLACE,
    steps=(
        Step("reserve growth on host", reserve_growth, release_growth),
        Step("scale on host", scale_on_host, unscale_on_host),
        Step("apply offering", apply_offering),
    ),
)

PROCESSES = {SCALE.command: SCALE}
