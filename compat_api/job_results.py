"""What a finished engine job stores as its result: the object the list command shows.

The engine knows nothing of CloudStack responses; the server hands it this builder, which
presents the resource exactly as listVirtualMachines (or listVolumes...) would, seen by the
user who submitted the job.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api.auth import to_caller
from compat_api.caller import Caller
from compat_api.render import jsonable
from compat_api.responses import ipaddress, vm, volume
from engine.lifecycle import JobOutcome, Process, StepContext
from schema_bridge import accounts, ip_addresses, vms, volumes

VM_RESPONSE = "org.apache.cloudstack.api.response.UserVmResponse"
VOLUME_RESPONSE = "org.apache.cloudstack.api.response.VolumeResponse"
IP_RESPONSE = "org.apache.cloudstack.api.response.IPAddressResponse"
# Commands on a VM whose response is a plain SuccessResponse rather than the VM.
SUCCESS_ONLY = frozenset({"expungeVirtualMachine"})


async def build(conn: AsyncConnection, process: Process, ctx: StepContext) -> JobOutcome:
    if process.resource_type == "VirtualMachine" and process.command not in SUCCESS_ONLY:
        return await _vm(conn, ctx)
    if process.resource_type == "Volume":
        return await _volume(conn, ctx)
    if process.command == "associateIpAddress":
        return await _ip_address(conn, ctx)
    return JobOutcome("org.apache.cloudstack.api.response.SuccessResponse", None, {"success": True})


async def _vm(conn: AsyncConnection, ctx: StepContext) -> JobOutcome:
    record = await accounts.user_by_id(conn, ctx.job.user_id)
    if record is None:
        raise LookupError(f"job {ctx.job.uuid}: its user {ctx.job.user_id} no longer exists")
    page = await vms.vm_page(
        conn, vms.VmFilter(ids=(ctx.resource_id,), hide_gone=False, display=None), 0, 1
    )
    if not page.records:
        # Expunged meanwhile (destroy with expunge=true): CloudStack answers an empty VM.
        return JobOutcome(VM_RESPONSE, "virtualmachine", {})
    found = page.records[0]
    found.job = None  # the job is finishing: the result shows no pending job
    payload = jsonable(vm.present(found, to_caller(record), vm.detail_groups(None)))
    return JobOutcome(VM_RESPONSE, "virtualmachine", payload)


async def _submitter(conn: AsyncConnection, ctx: StepContext) -> Caller:
    record = await accounts.user_by_id(conn, ctx.job.user_id)
    if record is None:
        raise LookupError(f"job {ctx.job.uuid}: its user {ctx.job.user_id} no longer exists")
    return to_caller(record)


async def _volume(conn: AsyncConnection, ctx: StepContext) -> JobOutcome:
    """The volume as listVolumes shows it (volumes of any display flag or VM type)."""
    wanted = volumes.VolumeFilter(ids=(ctx.resource_id,), display=None, system_vms=True)
    page = await volumes.volume_page(conn, wanted, 0, 1)
    if not page.records:
        return JobOutcome(VOLUME_RESPONSE, "volume", {})
    found = page.records[0]
    found.job = None  # the job is finishing: the result shows no pending job
    payload = jsonable(volume.present(found, await _submitter(conn, ctx)))
    return JobOutcome(VOLUME_RESPONSE, "volume", payload)


async def _ip_address(conn: AsyncConnection, ctx: StepContext) -> JobOutcome:
    caller = await _submitter(conn, ctx)
    found = await ip_addresses.records(conn, [ctx.resource_id], caller.is_root_admin)
    if not found:
        return JobOutcome(IP_RESPONSE, "ipaddress", {})
    payload = jsonable(ipaddress.present_job_result(found[0], caller))
    return JobOutcome(IP_RESPONSE, "ipaddress", payload)
