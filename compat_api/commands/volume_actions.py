"""Volume commands: createVolume, attachVolume, detachVolume, resizeVolume (engine jobs) and
deleteVolume (synchronous), with CloudStack's checks answered before any job is queued."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner, started, submit_job
from compat_api.context import CallContext
from compat_api.owners import ResourceOwner, raw_param, resource_owner
from compat_api.registry import Command, declare
from compat_api.render import Result
from engine.volume.processes import ATTACH, CREATE, DETACH
from schema_bridge import job_queue, resource_counts, volume_rows
from schema_bridge.dialect import utc_now
from schema_bridge.events import NewEvent, record
from schema_bridge.ids import new_uuid
from schema_bridge.vm_accounting import volume_usage
from schema_bridge.vm_state import VmPlacement, placement
from schema_bridge.volume_rows import DiskOffering, VolumeRow

GIB: Final = 1024**3
# custom.diskoffering.size.min / .max defaults, in GiB.
CUSTOM_MIN_GIB, CUSTOM_MAX_GIB = 1, 1024
SETTLED: Final = ("Running", "Stopped")


def required_id(ctx: CallContext, args: dict[str, Any], name: str) -> int:
    """A required uuid param: one whose value was no uuid (the parser drops it) is refused as
    an id that names nothing, never a KeyError."""
    value = args.get(name)
    if isinstance(value, int):
        return value
    raise errors.unknown_uuid(ctx.command.name, name, raw_param(ctx, name))


def limit_error(exceeded: resource_counts.LimitExceededError) -> errors.ApiError:
    return errors.ApiError(
        errors.RESOURCE_ALLOCATION_ERROR, str(exceeded), errors.CS_RESOURCE_ALLOCATION
    )


async def event(
    ctx: CallContext,
    conn: AsyncConnection,
    kind: str,
    state: str,
    text: str,
    resource: tuple[int, str],
) -> None:
    """An action event of a synchronous part (Created for the create phase, Completed)."""
    caller = ctx.caller
    await record(
        conn,
        NewEvent(
            type=kind,
            description=text,
            user_id=caller.user_id,
            account_id=caller.account_id,
            domain_id=caller.domain_id,
            created=utc_now(),
            resource_id=resource[0],
            resource_type=resource[1],
            state=state,
        ),
    )


async def _volume(conn: AsyncConnection, volume_id: int, text: str) -> VolumeRow:
    found = await volume_rows.volume_by_id(conn, volume_id)
    if found is None or found.removed is not None:
        raise errors.invalid_parameter(text)
    return found


async def _user_vm(conn: AsyncConnection, vm_id: int, states: tuple[str, ...]) -> VmPlacement:
    vm = await placement(conn, vm_id)
    if vm is None or not await volume_rows.is_user_vm(conn, vm_id):
        raise errors.invalid_parameter("Please specify a valid User VM.")
    if vm.state not in states:
        raise errors.invalid_parameter("Please specify a VM that is either running or stopped.")
    return vm


def _owner(row: VolumeRow | VmPlacement) -> Owner:
    return Owner(row.account_id, row.domain_id)


# --- createVolume -------------------------------------------------------------------------


def _new_size(args: dict[str, Any], offering: DiskOffering) -> int:
    size = args.get("size")
    if size is not None and size <= 0:
        raise errors.invalid_parameter("Disk size must be larger than 0")
    if offering.customized:
        if size is None:
            raise errors.invalid_parameter("This disk offering requires a custom size specified")
        if not CUSTOM_MIN_GIB <= size <= CUSTOM_MAX_GIB:
            raise errors.invalid_parameter(
                f"Volume size: {size}GB is out of allowed range. Max: {CUSTOM_MAX_GIB} "
                f"Min:{CUSTOM_MIN_GIB}"
            )
    elif size is not None:
        raise errors.invalid_parameter("This disk offering does not allow custom size")
    return offering.disk_size if offering.disk_size > 0 else int(size or 0) * GIB


async def _offering(conn: AsyncConnection, offering_id: Any) -> DiskOffering:
    found = await volume_rows.disk_offering_of(conn, int(offering_id))
    if found is None or not found.usable:
        raise errors.invalid_parameter("Please specify a valid disk offering.")
    return found


async def _zone(ctx: CallContext, conn: AsyncConnection, zone_id: int | None) -> int:
    named = raw_param(ctx, "zoneid") or "null"
    state = None if zone_id is None else await volume_rows.zone_allocation_state(conn, zone_id)
    if zone_id is None or state is None:
        raise errors.invalid_parameter(f"Unable to find zone by id {named}")
    if state == "Disabled" and not ctx.caller.is_root_admin:
        raise errors.permission_denied(
            f"Cannot perform this operation, Zone is currently disabled: {named}"
        )
    return zone_id


async def _vm_for_new_volume(
    ctx: CallContext, conn: AsyncConnection, vm_id: int | None
) -> VmPlacement | None:
    if vm_id is None:
        return None
    vm = await _user_vm(conn, vm_id, SETTLED)
    await check_owner(conn, ctx.caller, _owner(vm))
    await _check_data_disk_room(conn, vm)
    return vm


async def _check_data_disk_room(conn: AsyncConnection, vm: VmPlacement) -> None:
    attached = await volume_rows.attached_to(conn, vm.id)
    limit = await volume_rows.max_data_volumes(conn, vm.hypervisor_type)
    if sum(v.volume_type == "DATADISK" for v in attached) >= limit:
        raise errors.invalid_parameter(
            f"The specified VM already has the maximum number of data disks ({limit}) "
            "attached. Please specify another VM."
        )


async def _allocate(
    conn: AsyncConnection, owner: ResourceOwner, new: volume_rows.NewVolume
) -> VolumeRow:
    """Counts (within limits), the Allocated row and its VOLUME.CREATE usage record."""
    try:
        await resource_counts.take(conn, owner.account_id, "volume", 1)
        await resource_counts.take(conn, owner.account_id, "primary_storage", new.size)
    except resource_counts.LimitExceededError as exceeded:
        raise limit_error(exceeded) from exceeded
    volume = await volume_rows.insert_data_volume(conn, new)
    await volume_usage(conn, volume, "VOLUME.CREATE")
    return volume


def _check_create(ctx: CallContext, args: dict[str, Any]) -> None:
    if args.get("snapshotid") is not None:
        raise errors.invalid_parameter(
            "Creating a volume from a snapshot (snapshotid) is not supported by this server; "
            "create it with a diskofferingid"
        )
    if args.get("displayvolume") is not None and not ctx.caller.is_root_admin:
        raise errors.permission_denied(
            "Cannot update parameter displayvolume, only admin permitted "
        )
    if args.get("diskofferingid") is None:
        raise errors.invalid_parameter(
            "At least one of disk Offering ID or snapshot ID must be passed whilst creating volume"
        )


def _new_volume(
    args: dict[str, Any], owner: ResourceOwner, offering: DiskOffering, zone_id: int
) -> volume_rows.NewVolume:
    display = args.get("displayvolume")
    return volume_rows.NewVolume(
        name=args.get("name") or new_uuid(),
        account_id=owner.account_id,
        domain_id=owner.domain_id,
        zone_id=zone_id,
        disk_offering_id=offering.id,
        size=_new_size(args, offering),
        provisioning_type=offering.provisioning_type,
        min_iops=args.get("miniops", offering.min_iops),
        max_iops=args.get("maxiops", offering.max_iops),
        display=True if display is None else bool(display),
        uuid=args.get("customid") or new_uuid(),
    )


async def create_volume(ctx: CallContext, args: dict[str, Any]) -> Result:
    _check_create(ctx, args)
    async with ctx.db.engine.begin() as conn:
        owner = await resource_owner(ctx, conn, args)
        offering = await _offering(conn, args["diskofferingid"])
        _new_size(args, offering)  # size errors come before the VM's and the zone's
        vm = await _vm_for_new_volume(ctx, conn, args.get("virtualmachineid"))
        zone_id = await _zone(ctx, conn, args.get("zoneid") or (vm.zone_id if vm else None))
        if vm is not None and vm.zone_id != zone_id:
            raise errors.invalid_parameter(
                "Please specify a VM that is in the same zone as the volume."
            )
        volume = await _allocate(conn, owner, _new_volume(args, owner, offering, zone_id))
        await event(ctx, conn, "VOLUME.CREATE", "Created", "creating volume", (volume.id, "Volume"))
        step_args = {"vm_id": vm.id if vm else None, "device_id": None, "was_allocated": True}
        job_owner = Owner(owner.account_id, owner.domain_id)
        job = await submit_job(ctx, conn, CREATE, volume.id, volume.uuid, job_owner, step_args)
    return started(ctx, job, volume.uuid)


# --- attachVolume / detachVolume ----------------------------------------------------------


async def _check_device(conn: AsyncConnection, vm: VmPlacement, device_id: int | None) -> None:
    if device_id is None:
        return
    used = await volume_rows.used_device_ids(conn, vm.id)
    if device_id == 0:
        raise errors.invalid_parameter("Vm already has root volume attached to it")
    highest = await volume_rows.max_data_volumes(conn, vm.hypervisor_type) + 1
    if device_id < 0 or device_id > highest or device_id == volume_rows.CDROM_DEVICE:
        raise errors.invalid_parameter(f"deviceId should be 1,2,4-{highest}")
    if device_id in used:
        raise errors.invalid_parameter(f"deviceId {device_id} is used by vm {vm.uuid}")


def _check_attachable(volume: VolumeRow) -> None:
    if volume.volume_type not in ("DATADISK", "ROOT"):
        raise errors.invalid_parameter(
            "Please specify a volume with the valid type: ROOT or DATADISK"
        )
    if volume.instance_id is not None:
        raise errors.invalid_parameter("Please specify a volume that is not attached to any VM.")
    if volume.state == "Destroy":
        raise errors.invalid_parameter("Please specify a volume that is not destroyed.")


async def attach_volume(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        volume = await _volume(
            conn,
            required_id(ctx, args, "id"),
            "Please specify a volume with the valid type: ROOT or DATADISK",
        )
        _check_attachable(volume)
        vm = await _user_vm(conn, required_id(ctx, args, "virtualmachineid"), SETTLED)
        if vm.zone_id != volume.data_center_id:
            raise errors.invalid_parameter(
                "Please specify a VM that is in the same zone as the volume."
            )
        await _check_device(conn, vm, args.get("deviceid"))
        await _check_data_disk_room(conn, vm)
        await check_owner(conn, ctx.caller, _owner(volume))
        await check_owner(conn, ctx.caller, _owner(vm))
        queued = await job_queue.has_pending(conn, "Volume", volume.id)
        if not queued and volume.state not in ("Allocated", "Ready"):
            raise errors.invalid_parameter(
                "Volume state must be in Allocated, Ready or in Uploaded state"
            )
        step_args = {
            "vm_id": vm.id,
            "device_id": args.get("deviceid"),
            "was_allocated": volume.pool_id is None,
        }
        job = await submit_job(ctx, conn, ATTACH, volume.id, volume.uuid, _owner(volume), step_args)
    return started(ctx, job)


async def _volume_to_detach(
    ctx: CallContext, conn: AsyncConnection, args: dict[str, Any]
) -> VolumeRow:
    volume_id: Any = args.get("id")
    device_id: Any = args.get("deviceid")
    vm_id: Any = args.get("virtualmachineid")
    by_id = volume_id is not None and device_id is None and vm_id is None
    by_device = volume_id is None and device_id is not None and vm_id is not None
    if not (by_id or by_device):
        raise errors.invalid_parameter(
            "Please provide either a volume id, or a tuple(device id, instance id)"
        )
    if by_id:
        text = f"Unable to find volume with ID: {raw_param(ctx, 'id')}"
        return await _volume(conn, int(volume_id), text)
    for candidate in await volume_rows.attached_to(conn, int(vm_id)):
        if candidate.device_id == device_id:
            return candidate
    raise errors.invalid_parameter("Unable to find volume with ID: null")


async def detach_volume(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        volume = await _volume_to_detach(ctx, conn, args)
        await check_owner(conn, ctx.caller, _owner(volume))
        if volume.instance_id is None:
            raise errors.invalid_parameter("The specified volume is not attached to a VM.")
        vm = await _user_vm(conn, volume.instance_id, (*SETTLED, "Destroyed"))
        if volume.volume_type not in ("DATADISK", "ROOT"):
            raise errors.invalid_parameter("Please specify volume of type DATADISK or ROOT")
        if volume.volume_type == "ROOT":
            if vm.state not in ("Stopped", "Destroyed"):
                raise errors.invalid_parameter(
                    "Root volume detach can happen only when vm is in states: Stopped or Destroyed"
                )
            # ROOT detach leaves a VM that cannot start; only data disks are detached here.
            raise errors.invalid_parameter("Please specify a data volume.")
        job = await submit_job(
            ctx, conn, DETACH, volume.id, volume.uuid, _owner(volume), {"vm_id": vm.id}
        )
    return started(ctx, job)


COMMANDS: list[Command] = [
    declare(
        "createVolume",
        subsystem="volume",
        handler=create_volume,
        summary="Allocates a data disk from a disk offering, attached to a VM when one is named.",
    ),
    declare(
        "attachVolume",
        subsystem="volume",
        handler=attach_volume,
        summary="Attaches a data disk to a VM of its zone (live when the VM runs).",
    ),
    declare(
        "detachVolume",
        subsystem="volume",
        handler=detach_volume,
        summary="Detaches a data disk from its VM (live when the VM runs).",
    ),
]
