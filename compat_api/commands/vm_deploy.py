"""deployVirtualMachine: CloudStack's create phase, then a durable engine job.

The create phase (BaseAsyncCreateCmd.create) validates everything the request names and
answers refusals at once; then one transaction checks and counts resource limits, writes
the Stopped VM (vm_instance + user_vm + details + group), its Created event and the job. The
job (engine.vm.deploy) allocates NICs and volumes, places and starts the VM. The answer is
`{id: vm uuid, jobid}`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api.async_jobs import Owner, started, submit_job
from compat_api.commands import vm_deploy_checks as checks
from compat_api.commands import vm_deploy_inputs as inputs
from compat_api.commands import vm_deploy_limits
from compat_api.context import CallContext
from compat_api.registry import Command, declare
from compat_api.render import Result
from engine.vm.deploy import DEPLOY, DEPLOY_STOPPED
from schema_bridge import deploy_lookups, vm_create
from schema_bridge.dialect import utc_now
from schema_bridge.events import NewEvent, record
from schema_bridge.ids import VM_INSTANCE_SEQ, new_uuid, next_id
from schema_bridge.vm_create import NewUserVm


@dataclass(frozen=True)
class DeployPlan:
    """Everything the create transaction writes, checked beforehand."""

    owner: checks.DeployOwner
    vm: NewUserVm  # id 0 until the sequence hands one out
    amounts: dict[str, int]
    job_args: dict[str, Any]
    group: str | None
    start: bool


def _keypair_names(args: dict[str, Any]) -> list[str]:
    """`keypair` then `keypairs`, as DeployVMCmd.getSSHKeyPairNames joins them."""
    names = [args["keypair"]] if args.get("keypair") else []
    return names + [str(n) for n in args.get("keypairs") or []]


async def _host_name(
    conn: AsyncConnection, args: dict[str, Any], uuid: str, networks: list[int]
) -> str:
    name = args.get("name")
    if not name:
        # generateHostName: the instance.name setting ("VM") and the VM's uuid.
        return f"VM-{uuid}"
    inputs.check_host_name(name)
    await inputs.check_name_free(conn, name, networks)
    return str(name)


def _details(
    extra: dict[str, str], sizes: inputs.Sizes, keys: list[tuple[str, str]], args: dict[str, Any]
) -> tuple[tuple[str, str], ...]:
    stored = {k: v for k, v in extra.items() if k not in ("cpuNumber", "cpuSpeed", "memory")}
    if sizes.custom:
        stored.update(
            cpuNumber=str(sizes.cpus), cpuSpeed=str(sizes.speed), memory=str(sizes.memory)
        )
    if args.get("keyboard"):
        stored["keyboard"] = str(args["keyboard"])
    stored.update(keys)
    return tuple(stored.items())


def _job_args(
    plan_parts: dict[str, Any], offering: Any, template: Any, data: tuple[Any, int] | None
) -> dict[str, Any]:
    root = {
        "size": plan_parts["root_size"],
        "offering": int(offering.disk_offering_id),
        "template": int(template.id),
        "format": template.format,
        "provisioning": offering.provisioning_type,
    }
    data_args = None
    if data is not None:
        data_args = {
            "size": data[1],
            "offering": int(data[0].id),
            "provisioning": data[0].provisioning_type,
        }
    return {**plan_parts, "root": root, "data": data_args}


def _new_vm(
    owner: checks.DeployOwner, ctx: CallContext, template: Any, offering: Any, **values: Any
) -> NewUserVm:
    return NewUserVm(
        id=0,
        account_id=owner.account_id,
        domain_id=owner.domain_id,
        user_id=ctx.caller.user_id,
        template_id=int(template.id),
        guest_os_id=int(template.guest_os_id),
        hypervisor_type=str(template.hypervisor_type),
        service_offering_id=int(offering.id),
        ha_enabled=bool(offering.ha_enabled),
        limit_cpu_use=bool(offering.limit_cpu_use),
        dynamically_scalable=bool(template.dynamically_scalable),
        **values,
    )


async def _sources(conn: AsyncConnection, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Owner, zone, offering, template, data disk and host, in CloudStack's order."""
    owner = await checks.resolve_owner(conn, ctx.caller, args)
    zone = await checks.check_zone(conn, ctx.caller, args["zoneid"])
    offering = await checks.check_offering(conn, args["serviceofferingid"])
    template = await checks.check_template(conn, owner, args.get("templateid"), zone.id)
    data = await checks.check_data_disk(conn, args.get("diskofferingid"), args.get("size"))
    host_id = await checks.check_host(conn, ctx.caller, args.get("hostid"), zone.id)
    return {
        "owner": owner,
        "zone": zone,
        "offering": offering,
        "template": template,
        "data": data,
        "host_id": host_id,
    }


async def _plan(conn: AsyncConnection, ctx: CallContext, args: dict[str, Any]) -> DeployPlan:
    src = await _sources(conn, ctx, args)
    owner, zone, offering, template = src["owner"], src["zone"], src["offering"], src["template"]
    networks = await inputs.check_networks(conn, owner, zone, args.get("networkids"))
    address = await inputs.check_address(conn, networks[0], args.get("ipaddress"))
    extra = inputs.merged_details(args)
    bounds = await deploy_lookups.offering_details(conn, offering.id)
    sizes = inputs.check_sizes(offering, extra, bounds)
    root_size = inputs.check_root_size(template, int(offering.disk_size or 0), extra)
    uuid = new_uuid()
    host_name = await _host_name(conn, args, uuid, networks)
    keys = await inputs.check_keypairs(conn, owner, _keypair_names(args))
    user_data = await inputs.check_user_data(conn, args.get("userdata"), ctx.http_method)
    data_size = src["data"][1] if src["data"] else 0
    amounts = {
        "user_vm": 1,
        "cpu": sizes.cpus,
        "memory": sizes.memory,
        "volume": 2 if src["data"] else 1,
        "primary_storage": root_size + data_size,
    }
    custom = [("cpuNumber", sizes.cpus), ("cpuSpeed", sizes.speed), ("memory", sizes.memory)]
    parts = {
        "zone": int(zone.id), "networks": networks, "ipaddress": address,
        "hostid": src["host_id"], "root_size": root_size, "counted": amounts,
        "host_name": host_name, "usage_details": custom if sizes.custom else [],
    }  # fmt: skip
    display_vm = bool(args.get("displayvm", True)) if ctx.caller.is_root_admin else True
    vm = _new_vm(
        owner, ctx, template, offering,
        uuid=uuid, host_name=host_name, display_name=args.get("displayname") or host_name,
        zone_id=int(zone.id), display_vm=display_vm, user_data=user_data,
        details=_details(extra, sizes, keys, args),
    )  # fmt: skip
    job_args = _job_args(parts, offering, template, src["data"])
    return DeployPlan(owner, vm, amounts, job_args, args.get("group"), args.get("startvm", True))


async def deploy_vm(ctx: CallContext, args: dict[str, Any]) -> Result:
    # Reads take no write lock (SQLite); the write transaction below is short.
    async with ctx.db.reader.connect() as conn:
        plan = await _plan(conn, ctx, args)
    # The id comes from the sequence in a transaction of its own, as CloudStack takes it.
    vm = dataclasses.replace(plan.vm, id=await next_id(ctx.db, VM_INSTANCE_SEQ))
    key = ctx.settings.encryption_key if ctx.settings is not None else None
    async with ctx.db.engine.begin() as conn:
        now = utc_now()
        await vm_create.insert_user_vm(conn, vm, key, now)
        if plan.group:
            await vm_create.join_group(conn, vm.id, vm.account_id, plan.group, now)
        await record(conn, _created_event(ctx, vm))
        # The create phase adds the new entity's id to the parameters the job stores.
        job_ctx = dataclasses.replace(ctx, raw_params={**ctx.raw_params, "id": str(vm.id)})
        process = DEPLOY if plan.start else DEPLOY_STOPPED
        owner = Owner(vm.account_id, vm.domain_id)
        job = await submit_job(job_ctx, conn, process, vm.id, vm.uuid, owner, plan.job_args)
        # Limits last: the count rows every deploy of the domain tree shares stay locked only
        # until the COMMIT right after; a refusal rolls the rows above back.
        await vm_deploy_limits.take(conn, plan.owner, plan.amounts)
    return started(ctx, job, created_uuid=vm.uuid)


def _created_event(ctx: CallContext, vm: NewUserVm) -> NewEvent:
    return NewEvent(
        type="VM.CREATE",
        description=f"Successfully created entity for deploying Vm. Vm Id: {vm.uuid}",
        user_id=ctx.caller.user_id,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
        created=utc_now(),
        resource_id=vm.id,
        resource_type="VirtualMachine",
        state="Created",
    )


COMMANDS: list[Command] = [
    declare(
        "deployVirtualMachine",
        subsystem="vm",
        handler=deploy_vm,
        summary="Create a VM from a template and an offering, then allocate, place and start it.",
    ),
]
