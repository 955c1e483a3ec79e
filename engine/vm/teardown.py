"""Destroying and expunging user VMs as engine processes.

destroyVirtualMachine: Running/Stopped -> Stopping -> Destroyed. The VM is stopped on its
host, the host's CPU and memory are given back, then one transaction moves it to Destroyed
together with its counts, usage events and volume changes. With expunge=true the same job
goes on to expunge it. A failed destroy leaves the VM Running (its host still holds it) or
Stopped, with nothing given back.

expungeVirtualMachine: Destroyed -> Expunging -> removed. The hypervisor forgets the VM
first (the only step that can be refused); then one transaction frees its addresses,
removes its NICs and volumes and marks it removed. A refused expunge leaves it Destroyed.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.hypervisor.driver import HypervisorError
from engine.lifecycle import Process, Step, StepContext, StepFailedError
from engine.vm import steps
from engine.vm.step_state import once
from schema_bridge import capacity, vm_state, vm_teardown
from schema_bridge.tables import vm_instance

INTERNAL_ERROR: Final = 530
# The state a failed destroy goes back to: Running while its host still holds it, else Stopped.
RUNNING_OR_STOPPED: Final = "Running or Stopped"
WAS_RUNNING_KEY: Final = "was_running"
DESTROYED_KEY: Final = "destroy_recorded"
EXPUNGED_KEY: Final = "expunge_recorded"


async def _removed(conn: AsyncConnection, vm_id: int) -> bool:
    query = select(vm_instance.c.removed).where(vm_instance.c.id == vm_id)
    return (await conn.execute(query)).scalar() is not None


class TeardownStates:
    """VM compare-and-set for destroy and expunge, with the rules these processes add.

    Their last step moves the VM itself (to Destroyed, or to removed), in the transaction
    that records what the move gives back; the executor's closing transition then finds it
    there and has nothing left to do. A removed VM has nothing left to tear down at all.
    """

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None:
        return await vm_state.VmStates().state_of(conn, resource_id)

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        seen = await vm_state.placement(conn, resource_id)
        if seen is None:
            return False
        if await _removed(conn, resource_id):
            return True
        if to_state == RUNNING_OR_STOPPED:
            if seen.state not in from_states:
                return False  # destroyed already: the failure came after, while expunging
            return await vm_state.cas(conn, seen, "Running" if seen.host_id else "Stopped")
        if seen.state == "Destroyed" and to_state == "Stopping":
            # Destroying a destroyed VM only expunges it: it stays Destroyed meanwhile.
            return await vm_state.cas(conn, seen, "Destroyed")
        if seen.state == to_state and seen.state not in from_states:
            return True
        if seen.state not in from_states:
            return False
        return await vm_state.cas(conn, seen, to_state)


async def _placement(ctx: StepContext) -> vm_state.VmPlacement:
    async with ctx.db.engine.connect() as conn:
        found = await vm_state.placement(conn, ctx.resource_id)
    if found is None:
        raise StepFailedError(431, f"virtual machine id {ctx.resource_id} no longer exists")
    return found


async def stop_on_host(ctx: StepContext) -> None:
    """Power the VM off where it runs (vm.destroy.forcestop decides how); a VM placed on no
    host is stopped already."""
    vm = await _placement(ctx)
    if vm.host_id is None:
        return
    ctx.state[WAS_RUNNING_KEY] = True
    driver = await ctx.hypervisor(vm.host_id)
    await driver.stop(vm.instance_name, forced=bool(ctx.args.get("forced")))


async def release_host(ctx: StepContext) -> None:
    """The host's CPU and memory back, the VM placed nowhere: one transaction, and the host
    column it clears is what tells a resumed job this was done."""
    async with ctx.db.engine.begin() as conn:
        vm = await vm_state.placement(conn, ctx.resource_id)
        if vm is None or vm.host_id is None:
            return
        await capacity.release(conn, vm.host_id, steps.demand_of(vm))
        if not await vm_state.set_host(conn, vm, None):
            await conn.rollback()
            raise StepFailedError(steps.CHANGED, vm_state.changed_meanwhile(vm))


async def record_destroyed(ctx: StepContext) -> None:
    """Stopping -> Destroyed with what destroy gives back (skipped for a VM that was
    destroyed before this job: it is only being expunged)."""
    was_running = bool(ctx.state.get(WAS_RUNNING_KEY))
    doomed = [int(v) for v in ctx.args.get("volumeids") or ()]

    async def work(conn: AsyncConnection) -> None:
        if await vm_state.VmStates().state_of(conn, ctx.resource_id) == "Destroyed":
            return
        await vm_teardown.mark_destroyed(
            conn, ctx.resource_id, was_running=was_running, delete_volumes=doomed
        )

    await once(ctx, DESTROYED_KEY, work)


async def expunge_on_host(ctx: StepContext) -> None:
    """The hypervisor forgets the VM on the host it last ran on (a no-op if already gone)."""
    if not ctx.args.get("expunge"):
        return
    vm = await _placement(ctx)
    host_id = vm.host_id or vm.last_host_id
    if host_id is None:
        return
    try:
        driver = await ctx.hypervisor(host_id)
        await driver.destroy(vm.instance_name)
    except HypervisorError as exc:
        raise StepFailedError(
            INTERNAL_ERROR, f"Failed to expunge VM {vm.uuid} due to: {exc}"
        ) from exc


async def record_expunged(ctx: StepContext) -> None:
    """NIC addresses, NICs and volumes released and the VM marked removed, in one go."""
    if not ctx.args.get("expunge"):
        return
    extra = [int(v) for v in ctx.args.get("volumeids") or ()]

    async def work(conn: AsyncConnection) -> None:
        if not await _removed(conn, ctx.resource_id):
            await vm_teardown.mark_expunged(conn, ctx.resource_id, extra)

    await once(ctx, EXPUNGED_KEY, work)


TEARDOWN = TeardownStates()

DESTROY = Process(
    name="vm.destroy",
    command="destroyVirtualMachine",
    event_type="VM.DESTROY",
    resource_type="VirtualMachine",
    resources=TEARDOWN,
    start_states=("Running", "Stopped", "Destroyed"),
    transitioning="Stopping",
    done="Destroyed",
    error=RUNNING_OR_STOPPED,
    steps=(
        Step("stop on host", stop_on_host),
        Step("release host", release_host),
        Step("record destroy", record_destroyed),
        Step("expunge on host", expunge_on_host),
        Step("record expunge", record_expunged),
    ),
)

EXPUNGE = Process(
    name="vm.expunge",
    command="expungeVirtualMachine",
    event_type="VM.EXPUNGE",
    resource_type="VirtualMachine",
    resources=TEARDOWN,
    start_states=vm_teardown.EXPUNGEABLE,
    transitioning="Expunging",
    done="Expunging",
    error="Destroyed",
    steps=(
        Step("expunge on host", expunge_on_host),
        Step("record expunge", record_expunged),
    ),
)

PROCESSES = {p.command: p for p in (DESTROY, EXPUNGE)}
