"""Start, stop and reboot through the API as durable engine jobs (SQLite and MariaDB)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from engine.hypervisor.driver import PowerState
from engine.hypervisor.simulator import simulators
from schema_bridge.capacity import CPU, MEMORY
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import async_job, event, host, op_host_capacity, vm_instance
from schema_bridge.vm_rows import InsertedVm, VmRequest, insert_vm
from tests.compat_api.conftest import Api


async def stopped_vm(api: Api, who: Credentials | None = None) -> InsertedVm:
    seed = api.seed
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        states=("Stopped",),
    )
    return await insert_vm(api.db, who or api.user, request)


async def wait_job(api: Api, jobid: str, who: Credentials, timeout: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        reply = await api.signed("queryAsyncJobResult", who, jobid=jobid)
        body = reply.inner("queryasyncjobresultresponse")
        if body["jobstatus"] != 0:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"job {jobid} still pending: {body}"
        await asyncio.sleep(0.05)


async def used(api: Api, host_id: int, kind: int) -> int:
    async with api.db.engine.connect() as conn:
        query = select(op_host_capacity.c.used_capacity).where(
            op_host_capacity.c.host_id == host_id, op_host_capacity.c.capacity_type == kind
        )
        return int((await conn.execute(query)).scalar_one())


async def vm_row(api: Api, vm_id: int) -> Any:
    async with api.db.engine.connect() as conn:
        return (await conn.execute(select(vm_instance).where(vm_instance.c.id == vm_id))).one()


async def host_ip(api: Api, host_id: int) -> str:
    async with api.db.engine.connect() as conn:
        return str(
            (
                await conn.execute(select(host.c.private_ip_address).where(host.c.id == host_id))
            ).scalar_one()
        )


async def test_start_then_stop(api: Api) -> None:
    vm = await stopped_vm(api)
    accepted = await api.signed("startVirtualMachine", api.user, id=vm.uuid)
    assert list(accepted.inner("startvirtualmachineresponse")) == ["jobid"]
    result = await wait_job(api, accepted.inner("startvirtualmachineresponse")["jobid"], api.user)
    assert result["jobstatus"] == 1, result
    assert result["jobresulttype"] == "object"
    shown = result["jobresult"]["virtualmachine"]
    assert shown["id"] == vm.uuid and shown["state"] == "Running"
    assert "hostid" not in shown  # a user's view, as listVirtualMachines gives it
    row = await vm_row(api, vm.id)
    assert row.state == "Running" and row.host_id is not None and row.power_state == "PowerOn"
    listed = await api.signed("listVirtualMachines", api.user, id=vm.uuid)
    assert listed.inner("listvirtualmachinesresponse")["virtualmachine"][0] == shown
    memory = await used(api, row.host_id, MEMORY)
    sim = simulators.host(await host_ip(api, row.host_id))
    assert await sim.state(row.instance_name) == PowerState.RUNNING

    stop = await api.signed("stopVirtualMachine", api.user, id=vm.uuid, forced="true")
    result = await wait_job(api, stop.inner("stopvirtualmachineresponse")["jobid"], api.user)
    assert result["jobresult"]["virtualmachine"]["state"] == "Stopped"
    stopped = await vm_row(api, vm.id)
    assert stopped.host_id is None and stopped.last_host_id == row.host_id
    assert await used(api, row.host_id, MEMORY) == memory - 512 * 1024 * 1024
    assert stopped.update_count > row.update_count


async def test_wrong_state_and_other_accounts_are_refused_at_once(api: Api) -> None:
    vm = await stopped_vm(api)
    reboot = await api.signed("rebootVirtualMachine", api.user, id=vm.uuid)
    code, cs_code, text = reboot.error("rebootvirtualmachineresponse")
    assert (code, cs_code) == (431, 4350) and "Stopped" in text
    other = await api.signed("startVirtualMachine", api.domain_admin, id=vm.uuid)
    assert other.status in (200, 531)  # the domain admin may act inside its subtree
    stranger = await stopped_vm(api, api.admin)
    denied = await api.signed("startVirtualMachine", api.user, id=stranger.uuid)
    assert denied.error("startvirtualmachineresponse") == (
        531,
        4365,
        "Caller does not have permission to operate with provided resource.",
    )


async def test_start_fails_cleanly_when_the_hypervisor_refuses(api: Api) -> None:
    vm = await stopped_vm(api)
    before = {h: await used(api, h, CPU) for h in api.seed.infrastructure.host_ids}
    for host_id in api.seed.infrastructure.host_ids:
        simulators.host(await host_ip(api, host_id)).fail(
            "start", vm.instance_name, times=1, message="no power"
        )
    accepted = await api.signed("startVirtualMachine", api.user, id=vm.uuid)
    result = await wait_job(api, accepted.inner("startvirtualmachineresponse")["jobid"], api.user)
    assert result["jobstatus"] == 2 and result["jobresultcode"] == 530
    assert "no power" in result["jobresult"]["errortext"]
    row = await vm_row(api, vm.id)
    assert row.state == "Stopped" and row.host_id is None
    assert {h: await used(api, h, CPU) for h in api.seed.infrastructure.host_ids} == before
    async with api.db.engine.connect() as conn:
        levels = (
            await conn.execute(
                select(event.c.level, event.c.state)
                .where(event.c.resource_id == vm.id, event.c.type == "VM.START")
                .order_by(event.c.id)
            )
        ).all()
    assert [tuple(r) for r in levels] == [
        ("INFO", "Scheduled"),
        ("INFO", "Started"),
        ("ERROR", "Completed"),
    ]


async def test_jobs_on_one_vm_run_in_order(api: Api) -> None:
    vm = await stopped_vm(api)
    start = await api.signed("startVirtualMachine", api.user, id=vm.uuid)
    stop = await api.signed("stopVirtualMachine", api.user, id=vm.uuid)
    first = await wait_job(api, start.inner("startvirtualmachineresponse")["jobid"], api.user)
    second = await wait_job(api, stop.inner("stopvirtualmachineresponse")["jobid"], api.user)
    assert (first["jobstatus"], second["jobstatus"]) == (1, 1)
    assert second["jobresult"]["virtualmachine"]["state"] == "Stopped"
    async with api.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    async_job.c.job_cmd, async_job.c.job_status, async_job.c.job_dispatcher
                ).where(async_job.c.instance_id == vm.id)
            )
        ).all()
    assert [r.job_cmd.rsplit(".", 1)[1] for r in rows] == ["StartVMCmd", "StopVMCmd"]
