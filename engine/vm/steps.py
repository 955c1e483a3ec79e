"""Small idempotent steps of VM lifecycles: capacity, hypervisor calls, host bookkeeping.

Each step checks what is already done (saved state, database rows, the hypervisor's own
view) so that running it again after a crash changes nothing.
"""

from __future__ import annotations

from engine.hypervisor.driver import DiskSpec, NicSpec, VmSpec
from engine.lifecycle import StepContext, StepFailedError
from schema_bridge import capacity, vm_devices, vm_state
from schema_bridge.vm_state import VmPlacement

INSUFFICIENT_CAPACITY = 533
# CloudStack answers a ConcurrentOperationException (someone else changed the VM) with 530.
CHANGED = 530
# Where the VM was placed, for later steps of the same job (the database holds the truth:
# vm_instance.host_id is set with the reservation, in one transaction).
HOST_KEY = "host_id"


async def _vm(ctx: StepContext) -> VmPlacement:
    async with ctx.db.engine.connect() as conn:
        found = await vm_state.placement(conn, ctx.resource_id)
    if found is None:
        raise StepFailedError(431, f"virtual machine id {ctx.resource_id} no longer exists")
    return found


def demand_of(vm: VmPlacement) -> capacity.Demand:
    return capacity.Demand(vm.cpus * vm.speed, vm.ram_mb * capacity.MIB, vm.cpus)


async def _try_hosts(ctx: StepContext, vm: VmPlacement, hosts: list[capacity.Candidate]) -> bool:
    demand = demand_of(vm)
    for candidate in hosts:
        async with ctx.db.engine.begin() as conn:
            # The reservation and the VM's host commit together: the host column is how a
            # resumed job knows the reservation was already made.
            if await capacity.reserve(conn, candidate.host_id, candidate.cluster_id, demand):
                if not await vm_state.set_host(conn, vm, candidate.host_id):
                    await conn.rollback()
                    raise StepFailedError(CHANGED, vm_state.changed_meanwhile(vm))
                ctx.state[HOST_KEY] = candidate.host_id
                return True
            await conn.rollback()
    return False


async def reserve_capacity(ctx: StepContext) -> None:
    """Pick a host with room (the requested host, else the last one, else the freest) and
    take CPU and memory there in one conditional update."""
    vm = await _vm(ctx)
    if vm.host_id is not None:
        ctx.state[HOST_KEY] = vm.host_id
        return
    async with ctx.db.engine.connect() as conn:
        hosts = await capacity.candidates(conn, vm.zone_id, vm.hypervisor_type)
    wanted = ctx.args.get("hostid") or vm.last_host_id
    hosts.sort(key=lambda c: c.host_id != wanted)
    if ctx.args.get("hostid"):
        hosts = [c for c in hosts if c.host_id == wanted]
    if not await _try_hosts(ctx, vm, hosts):
        raise StepFailedError(
            INSUFFICIENT_CAPACITY,
            f"Unable to create a deployment for VM instance {vm.uuid}: no host in zone "
            f"{vm.zone_id} has {vm.cpus} x {vm.speed} MHz and {vm.ram_mb} MB free",
        )


async def release_reserved(ctx: StepContext) -> None:
    """Give the host's CPU and memory back and place the VM nowhere (undo of
    reserve_capacity, and the last step of a stop); nothing to do when already released."""
    vm = await _vm(ctx)
    if vm.host_id is None:
        return
    async with ctx.db.engine.begin() as conn:
        await capacity.release(conn, vm.host_id, demand_of(vm))
        if not await vm_state.set_host(conn, vm, None):
            await conn.rollback()
            raise StepFailedError(CHANGED, vm_state.changed_meanwhile(vm))


async def spec_of(ctx: StepContext, vm: VmPlacement) -> VmSpec:
    async with ctx.db.engine.connect() as conn:
        disks = await vm_devices.disks(conn, vm.id)
        nics = await vm_devices.vm_nics(conn, vm.id)
    return VmSpec(
        name=vm.instance_name,
        uuid=vm.uuid.lower(),
        vcpus=max(vm.cpus, 1),
        cpu_speed_mhz=max(vm.speed, 1),
        memory_mb=max(vm.ram_mb, 1),
        disks=tuple(
            DiskSpec(
                path=f"/var/lib/stackshift/{d.path or d.id}",
                device=f"vd{chr(ord('a') + d.device_id)}",
                size_bytes=d.size,
                format="raw" if (d.format or "").upper() == "RAW" else "qcow2",
                device_id=d.device_id,
            )
            for d in disks
        ),
        nics=tuple(NicSpec(mac=n.mac.lower(), bridge=_bridge(n.broadcast_uri)) for n in nics),
    )


def _bridge(broadcast_uri: str | None) -> str:
    """CloudStack's KVM agent names a VLAN's bridge brvlan-<id>; untagged uses cloudbr0."""
    if broadcast_uri and broadcast_uri.startswith("vlan://") and broadcast_uri[7:].isdigit():
        return f"brvlan-{broadcast_uri[7:]}"
    return "cloudbr0"


async def start_on_host(ctx: StepContext) -> None:
    vm = await _vm(ctx)
    if vm.host_id is None:
        raise StepFailedError(
            INSUFFICIENT_CAPACITY, f"virtual machine {vm.uuid} has no host reserved"
        )
    driver = await ctx.hypervisor(vm.host_id)
    await driver.define(await spec_of(ctx, vm))
    await driver.start(vm.instance_name)


async def stop_started(ctx: StepContext) -> None:
    """Undo of start_on_host: power off what may have been started (a no-op otherwise)."""
    vm = await _vm(ctx)
    if vm.host_id is not None:
        driver = await ctx.hypervisor(vm.host_id)
        await driver.stop(vm.instance_name, forced=True)


async def stop_on_host(ctx: StepContext) -> None:
    vm = await _vm(ctx)
    if vm.host_id is None:
        return
    ctx.state[HOST_KEY] = vm.host_id
    driver = await ctx.hypervisor(vm.host_id)
    await driver.stop(vm.instance_name, forced=bool(ctx.args.get("forced")))


async def reboot_on_host(ctx: StepContext) -> None:
    vm = await _vm(ctx)
    if vm.host_id is None:
        raise StepFailedError(431, f"virtual machine {vm.uuid} is not running on any host")
    driver = await ctx.hypervisor(vm.host_id)
    await driver.reboot(vm.instance_name)


# The name the stop process and others first used for releasing a VM's host.
release_host = release_reserved
