"""Small idempotent steps of volume lifecycles: storage placement, device ids, hypervisor
attach/detach and size changes.

Arguments the API fixed at submission sit in `ctx.args` (`vm_id`, `device_id`,
`was_allocated`, `size`, `old_size`...); facts a step produced sit in `ctx.state`, so an
undo (or a resumed job) knows exactly what this job did and nothing more.
"""

from __future__ import annotations

from typing import Final

from engine.hypervisor.driver import DiskSpec
from engine.lifecycle import StepContext, StepFailedError
from schema_bridge import resource_counts, vm_state, volume_rows
from schema_bridge.vm_accounting import UsageEvent, record_usage
from schema_bridge.vm_state import VmPlacement
from schema_bridge.volume_rows import VolumeRow

PARAM_ERROR: Final = 431
RESOURCE_ALLOCATION_ERROR: Final = 535
RESOURCE_UNAVAILABLE_ERROR: Final = 534
# CloudStack answers a ConcurrentOperationException (someone else changed it) with 530.
CHANGED: Final = 530
# Where a hypervisor finds a volume's file: the same convention engine.vm.steps.spec_of uses.
DISK_ROOT: Final = "/var/lib/stackshift"
# Image format of a new data disk per hypervisor (KVM and the Simulator use QCOW2).
FORMATS: Final = {"XenServer": "VHD", "VMware": "OVA", "Hyperv": "VHDX"}
SETTLED: Final = ("Running", "Stopped")
# A destroyed (not yet expunged) VM has no domain on a host: its disks change in the rows only.
DETACHABLE: Final = (*SETTLED, "Destroyed")


async def _volume(ctx: StepContext) -> VolumeRow:
    async with ctx.db.engine.connect() as conn:
        found = await volume_rows.volume_by_id(conn, ctx.resource_id)
    if found is None or found.removed is not None:
        raise StepFailedError(PARAM_ERROR, f"volume id {ctx.resource_id} no longer exists")
    return found


async def _vm(ctx: StepContext, *, allow_destroyed: bool = False) -> VmPlacement:
    vm_id = int(ctx.args["vm_id"])
    async with ctx.db.engine.connect() as conn:
        found = await vm_state.placement(conn, vm_id)
    gone = ("Expunging", "Error") if allow_destroyed else ("Destroyed", "Expunging", "Error")
    if found is None or found.state in gone:
        raise StepFailedError(PARAM_ERROR, "Please specify a valid User VM.")
    return found


def disk_spec(volume: VolumeRow, device_id: int) -> DiskSpec:
    return DiskSpec(
        path=f"{DISK_ROOT}/{volume.path or volume.id}",
        device=f"vd{chr(ord('a') + device_id)}",
        size_bytes=volume.size,
        format="raw" if (volume.format or "").upper() == "RAW" else "qcow2",
        device_id=device_id,
    )


def _running_host(vm: VmPlacement, allowed: tuple[str, ...] = SETTLED) -> int | None:
    """The host whose live domain must change now; None for a stopped VM, whose next start
    defines the domain from the rows; a VM changing state cannot take a disk change."""
    if vm.state not in allowed:
        raise StepFailedError(
            PARAM_ERROR,
            f"virtual machine {vm.uuid} is {vm.state}; attach or detach volumes when it is "
            "Running or Stopped",
        )
    return vm.host_id if vm.state == "Running" else None


async def create_on_storage(ctx: StepContext) -> None:
    """An Allocated volume is created on the zone's primary storage before it is attached."""
    if not ctx.args.get("vm_id"):
        return
    volume = await _volume(ctx)
    if volume.pool_id is not None:
        return
    vm = await _vm(ctx)
    async with ctx.db.engine.begin() as conn:
        pool = await volume_rows.zone_pool(conn, volume.data_center_id)
        if pool is None:
            raise StepFailedError(
                RESOURCE_UNAVAILABLE_ERROR,
                f"no primary storage pool is Up in the zone of volume {volume.uuid}",
            )
        fmt = FORMATS.get(vm.hypervisor_type or "", "QCOW2")
        await volume_rows.place(conn, volume, pool, fmt)


async def remove_from_storage(ctx: StepContext) -> None:
    """Undo of create_on_storage, for volumes this job found Allocated."""
    if not ctx.args.get("vm_id") or not ctx.args.get("was_allocated"):
        return
    volume = await _volume(ctx)
    if volume.pool_id is None or volume.instance_id is not None:
        return
    async with ctx.db.engine.begin() as conn:
        await volume_rows.unplace(conn, volume, volume.pool_id)


def _choose_device(ctx: StepContext, vm: VmPlacement, used: set[int], limit: int) -> int:
    wanted = ctx.args.get("device_id")
    if wanted is not None:
        if int(wanted) in used:
            raise StepFailedError(PARAM_ERROR, f"deviceId {wanted} is used by vm {vm.uuid}")
        return int(wanted)
    chosen = volume_rows.free_device_id(used, limit)
    if chosen is None:
        raise StepFailedError(PARAM_ERROR, f"All device Ids are used by vm {vm.uuid}")
    return chosen


async def reserve_device(ctx: StepContext) -> None:
    """Give the volume the requested or the next free device id of the VM, under the VM
    row's lock so two attachers never pick the same id."""
    if not ctx.args.get("vm_id"):
        return
    volume = await _volume(ctx)
    vm_id = int(ctx.args["vm_id"])
    if volume.instance_id == vm_id and volume.device_id is not None:
        ctx.state["device_id"] = volume.device_id
        return
    async with ctx.db.engine.begin() as conn:
        await volume_rows.lock_vm(conn, vm_id)
        vm = await vm_state.placement(conn, vm_id)
        if vm is None or vm.state not in SETTLED:
            raise StepFailedError(
                PARAM_ERROR, "Please specify a VM that is either running or stopped."
            )
        attached = await volume_rows.attached_to(conn, vm_id)
        limit = await volume_rows.max_data_volumes(conn, vm.hypervisor_type)
        if sum(v.volume_type == "DATADISK" for v in attached) >= limit:
            raise StepFailedError(
                PARAM_ERROR,
                f"The specified VM already has the maximum number of data disks ({limit}) "
                "attached. Please specify another VM.",
            )
        used = {v.device_id for v in attached if v.device_id is not None}
        device_id = _choose_device(ctx, vm, used, limit)
        if not await volume_rows.attach_row(conn, volume.id, vm_id, device_id):
            raise StepFailedError(
                PARAM_ERROR, "Please specify a volume that is not attached to any VM."
            )
    ctx.state["device_id"] = device_id


async def free_device(ctx: StepContext) -> None:
    """Undo of reserve_device: the volume is detached from the VM in the rows again."""
    if not ctx.args.get("vm_id") or ctx.state.get("device_id") is None:
        return
    async with ctx.db.engine.begin() as conn:
        await volume_rows.detach_row(conn, ctx.resource_id, int(ctx.args["vm_id"]))
    ctx.state.pop("device_id", None)


async def attach_on_host(ctx: StepContext) -> None:
    if not ctx.args.get("vm_id"):
        return
    vm = await _vm(ctx)
    host_id = _running_host(vm)
    if host_id is None:
        return
    volume = await _volume(ctx)
    driver = await ctx.hypervisor(host_id)
    # Recorded first: an attach that failed half-way is undone by detaching (idempotent).
    ctx.state["attached_host"] = host_id
    await driver.attach_disk(vm.instance_name, disk_spec(volume, int(ctx.state["device_id"])))


async def detach_attached(ctx: StepContext) -> None:
    """Undo of attach_on_host (a failed attach may have half happened: detach is idempotent)."""
    host_id = ctx.state.pop("attached_host", None)
    if host_id is None:
        return
    vm = await _vm(ctx)
    volume = await _volume(ctx)
    driver = await ctx.hypervisor(int(host_id))
    await driver.detach_disk(vm.instance_name, disk_spec(volume, int(ctx.state["device_id"])))


async def detach_on_host(ctx: StepContext) -> None:
    volume = await _volume(ctx)
    vm_id = int(ctx.args["vm_id"])
    if volume.instance_id != vm_id or volume.device_id is None:
        return  # already detached in the rows: the host was done before
    ctx.state["device_id"] = volume.device_id
    vm = await _vm(ctx, allow_destroyed=True)
    host_id = _running_host(vm, DETACHABLE)
    if host_id is None:
        return
    driver = await ctx.hypervisor(host_id)
    # Recorded first: a detach that failed half-way is undone by re-attaching (idempotent).
    ctx.state["detached_host"] = host_id
    await driver.detach_disk(vm.instance_name, disk_spec(volume, volume.device_id))


async def reattach_detached(ctx: StepContext) -> None:
    """Undo of detach_on_host."""
    host_id = ctx.state.pop("detached_host", None)
    if host_id is None:
        return
    vm = await _vm(ctx, allow_destroyed=True)
    volume = await _volume(ctx)
    driver = await ctx.hypervisor(int(host_id))
    await driver.attach_disk(vm.instance_name, disk_spec(volume, int(ctx.state["device_id"])))


async def release_device(ctx: StepContext) -> None:
    async with ctx.db.engine.begin() as conn:
        await volume_rows.detach_row(conn, ctx.resource_id, int(ctx.args["vm_id"]))


async def keep_storage_count(ctx: StepContext) -> None:
    """Nothing to do: the size change was counted when the command was accepted (so a limit
    refuses it at once). The undo gives that count back."""


async def give_storage_count_back(ctx: StepContext) -> None:
    counted = int(ctx.args.get("counted", 0))
    if counted == 0 or ctx.state.get("count_returned"):
        return
    volume = await _volume(ctx)
    async with ctx.db.engine.begin() as conn:
        await resource_counts.give_back(conn, volume.account_id, "primary_storage", counted)
    ctx.state["count_returned"] = True


async def resize(ctx: StepContext) -> None:
    """New size, offering and IOPS, the pool's allocated capacity and a VOLUME.RESIZE usage
    record in one transaction. The count taken at acceptance assumed the size then; a job
    queued behind another resize corrects it by the difference."""
    volume = await _volume(ctx)
    new_size, offering = int(ctx.args["size"]), ctx.args.get("disk_offering_id")
    if volume.size == new_size and offering in (None, volume.disk_offering_id):
        return  # done already (or nothing to do): a resumed job changes nothing
    correction = (new_size - volume.size) - int(ctx.args.get("counted", 0))
    wanted = ("disk_offering_id", "min_iops", "max_iops")
    values = {k: int(ctx.args[k]) for k in wanted if ctx.args.get(k) is not None}
    async with ctx.db.engine.begin() as conn:
        try:
            if correction > 0:
                await resource_counts.take(conn, volume.account_id, "primary_storage", correction)
            elif correction < 0:
                await resource_counts.give_back(
                    conn, volume.account_id, "primary_storage", -correction
                )
        except resource_counts.LimitExceededError as exceeded:
            raise StepFailedError(RESOURCE_ALLOCATION_ERROR, str(exceeded)) from exceeded
        if not await volume_rows.set_size(conn, volume, new_size, **values):
            await conn.rollback()
            raise StepFailedError(
                CHANGED,
                f"volume {volume.uuid} was changed by another management server meanwhile; "
                "nothing was changed",
            )
        if new_size != volume.size:
            await record_usage(conn, _resize_usage(volume, new_size, values))


def _resize_usage(volume: VolumeRow, size: int, values: dict[str, int]) -> UsageEvent:
    return UsageEvent(
        type="VOLUME.RESIZE",
        account_id=volume.account_id,
        zone_id=volume.data_center_id,
        resource_id=volume.id,
        resource_name=volume.name or "",
        offering_id=values.get("disk_offering_id", volume.disk_offering_id),
        template_id=volume.template_id,
        size=size,
    )
