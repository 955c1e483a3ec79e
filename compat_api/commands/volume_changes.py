"""deleteVolume (synchronous) and resizeVolume (an engine job): CloudStack's checks at once,
counts moved in the same transaction as the change (or the job's submission)."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner, started, submit_job
from compat_api.commands.volume_actions import event, limit_error, required_id
from compat_api.context import CallContext
from compat_api.owners import raw_param
from compat_api.registry import Command, declare
from compat_api.render import Result, SuccessResult
from engine.volume.processes import RESIZE
from schema_bridge import job_queue, resource_counts, tag_rows, volume_rows
from schema_bridge.vm_accounting import volume_usage
from schema_bridge.volume_rows import DiskOffering, VolumeRow

GIB: Final = 1024**3
DELETABLE: Final = ("Allocated", "Ready", "Destroy", "Expunged", "Error")
# Hypervisors CloudStack resizes volumes on; None: a volume no VM or pool ties to one yet.
RESIZABLE: Final = ("KVM", "XenServer", "VMware", "Simulator", "Any", "None", None)


async def _live_volume(conn: AsyncConnection, volume_id: int) -> VolumeRow | None:
    found = await volume_rows.volume_by_id(conn, volume_id)
    return None if found is None or found.removed is not None else found


async def _release(conn: AsyncConnection, volume: VolumeRow) -> None:
    """Expunge the row, give its counts back and record VOLUME.DELETE usage."""
    if not await volume_rows.expunge(conn, volume):
        raise errors.invalid_parameter(
            f"Volume {volume.uuid} changed while it was being deleted; please try again"
        )
    if volume.state != "Destroy":  # a destroyed volume gave its counts back already
        await resource_counts.give_back(conn, volume.account_id, "volume", 1)
        await resource_counts.give_back(conn, volume.account_id, "primary_storage", volume.size)
    await tag_rows.remove_all(conn, "Volume", volume.id)
    await volume_usage(conn, volume, "VOLUME.DELETE")


async def delete_volume(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        volume = await _live_volume(conn, required_id(ctx, args, "id"))
        if volume is None:
            raise errors.invalid_parameter(f"Unable to find volume with ID: {raw_param(ctx, 'id')}")
        if volume.instance_id is not None and volume.state != "Expunged":
            raise errors.invalid_parameter(
                "Please specify a volume that is not attached to any VM."
            )
        await check_owner(conn, ctx.caller, Owner(volume.account_id, volume.domain_id))
        if volume.state not in DELETABLE or await job_queue.has_pending(conn, "Volume", volume.id):
            raise errors.invalid_parameter(
                f"Volume {volume.uuid} is {volume.state} with an operation in progress; delete it "
                "when the operation has finished"
            )
        await _release(conn, volume)
        await event(
            ctx, conn, "VOLUME.DELETE", "Completed", "deleting volume", (volume.id, "Volume")
        )
    return SuccessResult()


# --- resizeVolume -------------------------------------------------------------------------


async def _new_offering(conn: AsyncConnection, args: dict[str, Any]) -> DiskOffering | None:
    if args.get("diskofferingid") is None:
        return None
    found = await volume_rows.disk_offering_of(conn, int(args["diskofferingid"]))
    if found is None or not found.usable:
        raise errors.invalid_parameter("Requested disk offering has been removed.")
    return found


def _size_from_offering(args: dict[str, Any], offering: DiskOffering) -> int:
    if offering.disk_size > 0:
        return offering.disk_size
    if args.get("size") is None:
        raise errors.invalid_parameter("The new disk offering requires that a size be specified.")
    return int(args["size"]) * GIB


async def _target_size(
    conn: AsyncConnection, volume: VolumeRow, args: dict[str, Any]
) -> tuple[int, DiskOffering | None]:
    new_offering = await _new_offering(conn, args)
    if new_offering is not None:
        return _size_from_offering(args, new_offering), new_offering
    if args.get("size") is None:
        return volume.size, None
    current = await volume_rows.disk_offering_of(conn, volume.disk_offering_id)
    if (current is None or not current.customized) and volume.volume_type != "ROOT":
        raise errors.invalid_parameter(
            "To change a volume's size without providing a new disk offering, its current disk "
            "offering must be customizable or it must be a root volume (if providing a disk "
            "offering, make sure it is different from the current disk offering)."
        )
    if int(args["size"]) <= 0:
        raise errors.invalid_parameter("Requested size out of range")
    return int(args["size"]) * GIB, None


def _check_shrink(volume: VolumeRow, new_size: int, shrink_ok: bool) -> None:
    if new_size >= volume.size:
        return
    if (volume.format or "").upper() == "QCOW2" and volume.state != "Allocated":
        raise errors.invalid_parameter("Unable to shrink volumes of type QCOW2")
    if not shrink_ok:
        raise errors.invalid_parameter(
            f"Going from existing size of {volume.size} to size of {new_size} would shrink the "
            "volume.Need to sign off by supplying the shrinkok parameter with value of true."
        )


async def _count_change(conn: AsyncConnection, volume: VolumeRow, delta: int) -> None:
    try:
        if delta > 0:
            await resource_counts.take(conn, volume.account_id, "primary_storage", delta)
        elif delta < 0:
            await resource_counts.give_back(conn, volume.account_id, "primary_storage", -delta)
    except resource_counts.LimitExceededError as exceeded:
        raise limit_error(exceeded) from exceeded


async def _checked_for_resize(ctx: CallContext, conn: AsyncConnection, volume_id: int) -> VolumeRow:
    volume = await _live_volume(conn, volume_id)
    if volume is None:
        raise errors.invalid_parameter("No such volume")
    await check_owner(conn, ctx.caller, Owner(volume.account_id, volume.domain_id))
    hypervisor = await volume_rows.hypervisor_of(conn, volume)
    if hypervisor not in RESIZABLE:
        raise errors.invalid_parameter(f"Hypervisor {hypervisor} does not support volume resize")
    queued = await job_queue.has_pending(conn, "Volume", volume.id)
    if not queued and volume.state not in ("Ready", "Allocated"):
        raise errors.invalid_parameter(
            "Volume should be in ready or allocated state before attempting a resize. Volume "
            f"{volume.uuid} is in state {volume.state}."
        )
    return volume


async def resize_volume(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        volume = await _checked_for_resize(ctx, conn, required_id(ctx, args, "id"))
        new_size, offering = await _target_size(conn, volume, args)
        _check_shrink(volume, new_size, bool(args.get("shrinkok")))
        await _count_change(conn, volume, new_size - volume.size)
        step_args = {
            "size": new_size,
            "counted": new_size - volume.size,
            "disk_offering_id": offering.id if offering else None,
            "min_iops": args.get("miniops"),
            "max_iops": args.get("maxiops"),
        }
        owner = Owner(volume.account_id, volume.domain_id)
        job = await submit_job(ctx, conn, RESIZE, volume.id, volume.uuid, owner, step_args)
    return started(ctx, job)


COMMANDS: list[Command] = [
    declare(
        "deleteVolume",
        subsystem="volume",
        handler=delete_volume,
        summary="Deletes a detached volume and gives its counts and storage back.",
    ),
    declare(
        "resizeVolume",
        subsystem="volume",
        handler=resize_volume,
        summary="Grows a volume (shrinks with shrinkok) by size or to a new disk offering.",
    ),
]
