"""Deploy step: the ROOT volume from the template (and an optional DATA volume) on a
primary storage pool with room for both."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.lifecycle import StepContext, StepFailedError
from engine.vm.step_state import once
from schema_bridge import vm_volumes
from schema_bridge.dialect import utc_now
from schema_bridge.ids import VOLUME_SEQ, allocate
from schema_bridge.vm_volumes import NewVolume, VolumeOwner

INSUFFICIENT_CAPACITY = 533
VOLUMES_KEY = "volumes"
REMOVED_KEY = "volumes_removed"
GIB = 1024**3


def _planned(vm_id: int, first_id: int, args: dict[str, Any]) -> list[NewVolume]:
    """ROOT-<vm id> at device 0, DATA-<vm id> at device 1 (as CloudStack names them)."""
    root: dict[str, Any] = args["root"]
    planned = [
        NewVolume(
            id=first_id,
            name=f"ROOT-{vm_id}",
            volume_type="ROOT",
            device_id=0,
            size=int(root["size"]),
            disk_offering_id=int(root["offering"]),
            template_id=int(root["template"]),
            format=root.get("format"),
            provisioning_type=root.get("provisioning"),
        )
    ]
    data: dict[str, Any] | None = args.get("data")
    if data:
        planned.append(
            NewVolume(
                id=first_id + 1,
                name=f"DATA-{vm_id}",
                volume_type="DATADISK",
                device_id=1,
                size=int(data["size"]),
                disk_offering_id=int(data["offering"]),
                template_id=None,
                format=root.get("format"),
                provisioning_type=data.get("provisioning"),
            )
        )
    return planned


def _no_room(total: int, zone_id: int) -> StepFailedError:
    return StepFailedError(
        INSUFFICIENT_CAPACITY,
        f"Unable to create volumes: no primary storage pool in zone {zone_id} has "
        f"{total} bytes ({total / GIB:.2f} GB) of unallocated space",
    )


async def create_volumes(ctx: StepContext) -> None:
    owner = VolumeOwner(
        ctx.resource_id, ctx.job.account_id, int(ctx.state.get("domain_id", 1)), ctx.args["zone"]
    )
    count = 2 if ctx.args.get("data") else 1

    async def create(conn: AsyncConnection) -> list[dict[str, Any]]:
        first = await allocate(conn, VOLUME_SEQ, count)
        planned = _planned(ctx.resource_id, first, ctx.args)
        total = sum(v.size for v in planned)
        for pool in await vm_volumes.pools_by_room(conn, owner.zone_id):
            if await vm_volumes.take_room(conn, pool.id, total):
                await vm_volumes.insert_volumes(conn, owner, pool, planned, utc_now())
                return [{"id": v.id, "name": v.name, "size": v.size} for v in planned]
        raise _no_room(total, owner.zone_id)

    await once(ctx, VOLUMES_KEY, create)


async def remove_volumes(ctx: StepContext) -> None:
    """Undo of create_volumes: the volumes are expunged and their pool room given back."""

    async def remove(conn: AsyncConnection) -> int:
        return await vm_volumes.remove_volumes(conn, ctx.resource_id, utc_now())

    await once(ctx, REMOVED_KEY, remove)
