"""changeServiceForVirtualMachine (synchronous, stopped VMs) and scaleVirtualMachine (an
engine job; live on a running VM): a VM onto another compute offering, with the checks of
UserVmManagerImpl.upgradeStoppedVirtualMachine / upgradeRunningVirtualMachine and
VirtualMachineManager.checkIfCanUpgrade made before anything changes."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import started, submit_job
from compat_api.commands.vm_target import (
    flag,
    limit_error,
    owned_vm,
    owner_of,
    present,
    record_event,
    required_id,
    setting,
    within_limits,
)
from compat_api.context import CallContext
from compat_api.render import ObjectResult, Result
from engine.vm.scale import SCALE
from schema_bridge import job_queue, resource_counts, vm_state, vm_teardown
from schema_bridge import vm_accounting as acct
from schema_bridge.tables import disk_offering, service_offering_details
from schema_bridge.vm_teardown import VmFacts

LIVE_SCALING_HYPERVISORS: Final = ("XenServer", "VMware", "Simulator", "KVM")
INT_MAX: Final = 2**31 - 1
# (new offering, new size, current offering, current size)
Sizes = tuple[acct.Offering, acct.Compute, acct.Offering, acct.Compute]


def label(vm: VmFacts) -> str:
    """VMInstanceVO.toString() without the internal id."""
    return f'VM instance {{"instanceName":"{vm.instance_name}","type":"User","uuid":"{vm.uuid}"}}'


def custom_values(args: dict[str, Any]) -> dict[str, str]:
    """The `details` map parameter (details[0].cpuNumber=2...) as one dictionary."""
    merged: dict[str, str] = {}
    for entry in (args.get("details") or {}).values():
        merged.update({str(k): str(v) for k, v in entry.items()})
    return merged


async def _bounds(conn: AsyncConnection, offering_id: int) -> dict[str, str]:
    d = service_offering_details.c
    query = select(d.name, d.value).where(d.service_offering_id == offering_id)
    return {str(n): str(v) for n, v in (await conn.execute(query)).all()}


def _number(text: str | None, default: int) -> int:
    return int(text) if text is not None and text.strip().lstrip("-").isdigit() else default


async def _maxima(conn: AsyncConnection) -> tuple[int, int]:
    cores = _number(await setting(conn, "vm.serviceoffering.cpu.cores.max", "0"), 0)
    ram = _number(await setting(conn, "vm.serviceoffering.ram.size.max", "0"), 0)
    return cores or INT_MAX, ram or INT_MAX


async def _sized(conn: AsyncConnection, new: acct.Offering, values: dict[str, str]) -> acct.Compute:
    """validateCustomParameters / validateOfferingMaxResource: the size the VM will have."""
    max_cores, max_ram = await _maxima(conn)
    if not new.custom:
        if (new.cpu or 0) > max_cores:
            raise errors.invalid_parameter(
                "Invalid cpu cores value, please choose another service offering with cpu cores "
                f"between 1 and {max_cores}"
            )
        if (new.ram_mb or 0) > max_ram:
            raise errors.invalid_parameter(
                "Invalid memory value, please choose another service offering with memory "
                f"between 32 and {max_ram} MB"
            )
        return new.sized({})
    if not values:
        raise errors.invalid_parameter(
            "Need to specify custom parameter values cpu, cpu speed and memory when using "
            "custom offering"
        )
    bounds = await _bounds(conn, new.id)
    _check_open(new.cpu, values, acct.CPU_NUMBER, "cpu cores", new.uuid,
                (_number(bounds.get("mincpunumber"), 1),
                 min(_number(bounds.get("maxcpunumber"), INT_MAX), max_cores)))  # fmt: skip
    _check_open(new.speed, values, acct.CPU_SPEED, "cpu speed", new.uuid, (1, INT_MAX))
    _check_open(new.ram_mb, values, acct.MEMORY, "memory", new.uuid,
                (_number(bounds.get("minmemory"), 32),
                 min(_number(bounds.get("maxmemory"), INT_MAX), max_ram)))  # fmt: skip
    return new.sized(values)


def _check_open(
    fixed: int | None,
    values: dict[str, str],
    key: str,
    what: str,
    uuid: str,
    bounds: tuple[int, int],
) -> None:
    if fixed is not None:
        if key in values:
            raise errors.invalid_parameter(
                f"The {what} of this offering id:{uuid} is not customizable. This is predefined "
                "in the template."
            )
        return
    value = _number(values.get(key), -1)
    if not bounds[0] <= value <= bounds[1]:
        raise errors.invalid_parameter(
            f"Invalid {what} value, specify a value between {bounds[0]} and {bounds[1]}"
        )


async def _disk_flags(conn: AsyncConnection, offering: acct.Offering) -> tuple[bool, bool]:
    """(use_local_storage, encrypt) of the offering's root disk offering."""
    query = select(disk_offering.c.use_local_storage, disk_offering.c.encrypt).where(
        disk_offering.c.id == offering.disk_offering_id
    )
    row = (await conn.execute(query)).first()
    return (False, False) if row is None else (bool(row[0]), bool(row[1]))


async def _check_upgrade(
    conn: AsyncConnection, vm: VmFacts, current: acct.Offering, new: acct.Offering
) -> None:
    """checkIfCanUpgrade and validateDiskOfferingChecks."""
    if new.state == "Inactive":
        raise errors.invalid_parameter(
            f"Unable to upgrade virtual machine {vm.uuid} with an inactive service offering "
            f"{new.uuid}"
        )
    if not new.custom and vm.service_offering_id == new.id:
        raise errors.invalid_parameter(
            f"Not upgrading vm {label(vm)} since it already has the requested service offering "
            f"({new.name})"
        )
    if current.system_use != new.system_use:
        raise errors.invalid_parameter(
            "isSystem property is different for current service offering and new service offering"
        )
    await _check_disks(conn, vm, current, new)


async def _check_disks(
    conn: AsyncConnection, vm: VmFacts, current: acct.Offering, new: acct.Offering
) -> None:
    """The root disk offerings of both: same storage kind, strictness and encryption."""
    (old_local, old_encrypt), (new_local, new_encrypt) = (
        await _disk_flags(conn, current),
        await _disk_flags(conn, new),
    )
    if old_local != new_local:
        raise errors.invalid_parameter(
            f"Unable to upgrade virtual machine {label(vm)}, cannot switch between local storage "
            f"and shared storage service offerings.  Current offering useLocalStorage="
            f"{str(old_local).lower()}, target offering useLocalStorage={str(new_local).lower()}"
        )
    if current.strict_disk != new.strict_disk:
        raise errors.invalid_parameter(
            "Unable to Scale VM, since disk offering strictness flag is not same for new service "
            "offering and old service offering"
        )
    if current.strict_disk and current.disk_offering_id != new.disk_offering_id:
        raise errors.invalid_parameter(
            "Unable to Scale VM, since disk offering id associated with the old service offering "
            "is not same for new service offering"
        )
    if old_encrypt != new_encrypt:
        raise errors.invalid_parameter(
            "Cannot change volume encryption type via service offering change"
        )


async def _target(
    ctx: CallContext, conn: AsyncConnection, vm: VmFacts, args: dict[str, Any]
) -> Sizes:
    """(new offering, new size, current offering, current size), checked."""
    new = await acct.offering(conn, required_id(ctx, args, "serviceofferingid"))
    current = await acct.offering(conn, vm.service_offering_id)
    if new is None or current is None:
        raise errors.invalid_parameter("Unable to find service offering")
    size = await _sized(conn, new, custom_values(args))
    await _check_upgrade(conn, vm, current, new)
    old = await acct.compute_of(conn, vm.id, vm.service_offering_id)
    return new, size, current, old


def _check_live(vm: VmFacts, sizes: Sizes) -> None:
    """What upgradeRunningVirtualMachine requires of a running VM before it scales it."""
    new, size, current, old = sizes
    if vm.hypervisor_type not in LIVE_SCALING_HYPERVISORS:
        raise errors.invalid_parameter(
            "Scaling the VM dynamically is not supported for VMs running on Hypervisor "
            f"[{vm.hypervisor_type}]."
        )
    if new.dynamic_scaling != current.dynamic_scaling:
        raise errors.invalid_parameter(
            "Unable to Scale VM: since dynamic scaling enabled flag is not same for new service "
            "offering and old service offering"
        )
    if _shrinks_or_same(old, size):
        raise errors.invalid_parameter(
            "While the VM is running, only scalling up it is supported. New service offering "
            f'{{"memory": {size.ram_mb}, "speed": {size.speed}, "cpu": {size.cpus}}} should have '
            "at least one value (ram, speed or cpu) greater than the current values "
            f'{{"memory": {old.ram_mb}, "speed": {old.speed}, "cpu": {old.cpus}}}.'
        )
    if vm.hypervisor_type == "KVM" and not current.custom:
        raise errors.invalid_parameter(
            'Unable to live scale VM on KVM when current service offering is a "Fixed Offering". '
            'KVM needs the tag "maxMemory" to live scale and it is only configured when VM is '
            'deployed with a custom service offering and "Dynamic Scalable" is enabled.'
        )


def _shrinks_or_same(old: acct.Compute, new: acct.Compute) -> bool:
    pairs = ((new.speed, old.speed), (new.ram_mb, old.ram_mb), (new.cpus, old.cpus))
    return any(n < o for n, o in pairs) or all(n == o for n, o in pairs)


async def _check_dynamic(conn: AsyncConnection, vm: VmFacts, new: acct.Offering) -> None:
    """The zone's enable.dynamic.scale.vm, then the VM's own flag (and its offering's)."""
    if not await flag(conn, "enable.dynamic.scale.vm", zone_id=vm.zone_id):
        raise errors.permission_denied(
            "Dynamically scaling virtual machines is disabled for this zone, please contact "
            "your admin."
        )
    if not vm.dynamically_scalable or not new.dynamic_scaling:
        raise errors.ApiError(
            errors.INTERNAL_ERROR,
            f"Unable to scale {label(vm)} as it does not have tools to support dynamic scaling.",
            errors.CS_CLOUD_RUNTIME,
        )


def _growth(sizes: Sizes) -> dict[str, int]:
    _, size, _, old = sizes
    return {"cpu": size.cpus - old.cpus, "memory": size.ram_mb - old.ram_mb}


async def change_service(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        vm = await owned_vm(ctx, conn, required_id(ctx, args, "id"))
        if vm.removed:
            raise errors.invalid_parameter(f"unable to find a virtual machine with id {vm.uuid}")
        if vm.state != "Stopped":
            raise errors.invalid_parameter(
                f"Unable to upgrade virtual machine {label(vm)}  in state {vm.state}; make sure "
                "the virtual machine is stopped"
            )
        sizes = await _target(ctx, conn, vm, args)
        try:
            seen = await vm_state.placement(conn, vm.id)
            if seen is None:
                raise vm_teardown.VmChangedError(f"VM {vm.uuid} is gone")
            await vm_teardown.change_offering(conn, seen, sizes[0], sizes[1], "VM.UPGRADE")
        except resource_counts.LimitExceededError as exceeded:
            raise limit_error(exceeded) from exceeded
        except vm_teardown.VmChangedError as exc:
            raise errors.invalid_parameter(
                f"Unable to upgrade virtual machine {label(vm)}; it changed meanwhile, make sure "
                "the virtual machine is stopped"
            ) from exc
        await record_event(ctx, conn, vm, "VM.UPGRADE", "upgrading Vm")
        shown = await present(ctx, conn, vm.id)
    return ObjectResult(shown, "virtualmachine")


async def scale_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        vm = await owned_vm(ctx, conn, required_id(ctx, args, "id"))
        if vm.removed:
            raise errors.invalid_parameter("Unable to find VM's UUID")
        queued = await job_queue.has_pending(conn, "VirtualMachine", vm.id)
        if vm.state not in SCALE.start_states and not queued:
            raise errors.invalid_parameter(
                f"Unable to upgrade virtual machine {label(vm)}  in state {vm.state}; make sure "
                "the virtual machine is stopped/running"
            )
        sizes = await _target(ctx, conn, vm, args)
        if vm.state == "Running":
            _check_live(vm, sizes)
        if vm.display_vm:
            await within_limits(conn, vm.account_id, _growth(sizes))
        if vm.state == "Running":
            await _check_dynamic(conn, vm, sizes[0])
        step_args = {"serviceofferingid": sizes[0].id, "details": custom_values(args)}
        job = await submit_job(ctx, conn, SCALE, vm.id, vm.uuid, owner_of(vm), step_args)
    return started(ctx, job)
