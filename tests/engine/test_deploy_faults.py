"""deployVirtualMachine under faults and load (SQLite and MariaDB): a failure at any step
leaves nothing behind, a resumed step repeats nothing, and fifty concurrent deploys share
out addresses, MACs, capacity and counts exactly."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, update

from engine.hypervisor.simulator import simulators
from engine.lifecycle import StepContext
from engine.vm import nic_alloc, volume_alloc
from schema_bridge import job_queue
from schema_bridge.job_queue import ClaimedJob
from schema_bridge.tables import (
    async_job,
    event,
    nics,
    op_host_capacity,
    usage_event,
    user_ip_address,
    volumes,
)
from schema_bridge.vm_volumes import STORAGE_ALLOCATED
from tests.compat_api.conftest import Api
from tests.engine.deploy_helpers import (
    check_books,
    counts,
    deployed,
    fail_everywhere,
    host_ip,
    refs,
    rows,
    set_limit,
    vm_by_uuid,
)

ROOT = "deployvirtualmachineresponse"


async def _assert_undone(api: Api, result: dict[str, Any], before: dict[str, int]) -> Any:
    """The job failed and the VM left nothing behind: Error + removed, not listed, no NIC,
    volume, address, capacity, count or usage event."""
    assert result["jobstatus"] == 2, result
    vm = await vm_by_uuid(api, result["vm_uuid"])
    assert vm.state == "Error" and vm.removed is not None and vm.host_id is None
    listed = await api.signed("listVirtualMachines", api.user, id=result["vm_uuid"])
    assert listed.inner("listvirtualmachinesresponse") == {}
    assert not await rows(
        api, select(nics).where(nics.c.instance_id == vm.id, nics.c.removed.is_(None))
    )
    live = select(volumes).where(volumes.c.instance_id == vm.id, volumes.c.removed.is_(None))
    assert not await rows(api, live)
    assert await counts(api, api.user.account_id) == before
    assert not await rows(api, select(usage_event))
    levels = await rows(
        api,
        select(event.c.state, event.c.level)
        .where(event.c.resource_id == vm.id, event.c.type == "VM.CREATE")
        .order_by(event.c.id),
    )
    assert [tuple(level) for level in levels][-1] == ("Completed", "ERROR")
    for host_id in api.seed.infrastructure.host_ids:
        assert vm.instance_name not in simulators.host(await host_ip(api, host_id)).names()
    return vm


async def test_hypervisor_refusing_to_start_undoes_everything(api: Api) -> None:
    ref = await refs(api)
    before = await counts(api, api.user.account_id)
    await fail_everywhere(api, "start", "no power")
    result = await deployed(api, api.user, ref, diskofferingid=ref.fixed_disk)
    vm = await _assert_undone(api, result, before)
    assert result["jobresultcode"] == 530
    text = result["jobresult"]["errortext"]
    assert (
        text.startswith(f"Unable to start VM {vm.instance_name} ({vm.uuid})") and "no power" in text
    )
    await check_books(api)


async def test_hypervisor_refusing_to_define_undoes_everything(api: Api) -> None:
    ref = await refs(api)
    before = await counts(api, api.user.account_id)
    await fail_everywhere(api, "define", "bad domain XML")
    result = await deployed(api, api.user, ref)
    await _assert_undone(api, result, before)
    assert "bad domain XML" in result["jobresult"]["errortext"]
    await check_books(api)


async def _set_used(api: Api, kind: int, owner_ids: tuple[int, ...], full: bool) -> None:
    row = op_host_capacity.c
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(op_host_capacity)
            .where(row.capacity_type == kind, row.host_id.in_(owner_ids))
            .values(used_capacity=row.total_capacity * 100 if full else 0)
        )


async def test_no_host_with_room_fails_with_533_and_undoes_everything(api: Api) -> None:
    from schema_bridge.capacity import MEMORY

    ref = await refs(api)
    before = await counts(api, api.user.account_id)
    hosts = api.seed.infrastructure.host_ids
    await _set_used(api, MEMORY, hosts, full=True)
    result = await deployed(api, api.user, ref)
    await _assert_undone(api, result, before)
    assert result["jobresultcode"] == 533
    assert result["jobresult"]["errortext"].startswith("Unable to create a deployment for VM")
    await _set_used(api, MEMORY, hosts, full=False)
    await check_books(api)


async def test_no_storage_room_fails_with_533_and_gives_the_address_back(api: Api) -> None:
    ref = await refs(api)
    before = await counts(api, api.user.account_id)
    pool = (api.seed.infrastructure.storage_pool_id,)
    await _set_used(api, STORAGE_ALLOCATED, pool, full=True)
    result = await deployed(api, api.user, ref)
    await _assert_undone(api, result, before)
    assert result["jobresultcode"] == 533
    assert "no primary storage pool" in result["jobresult"]["errortext"]
    await _set_used(api, STORAGE_ALLOCATED, pool, full=False)
    await check_books(api)


async def test_no_free_address_fails_with_533_and_undoes_everything(api: Api) -> None:
    ref = await refs(api)
    before = await counts(api, api.user.account_id)
    guest = api.seed.networking.guest_network_id
    address = user_ip_address.c
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user_ip_address)
            .where(address.source_network_id == guest, address.state == "Free")
            .values(state="Reserved")
        )
    result = await deployed(api, api.user, ref)
    await _assert_undone(api, result, before)
    assert result["jobresultcode"] == 533
    assert result["jobresult"]["errortext"].startswith("Insufficient address capacity")
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user_ip_address)
            .where(address.source_network_id == guest, address.state == "Reserved")
            .values(state="Free")
        )
    await check_books(api)
    again = await deployed(api, api.user, ref)
    assert again["jobstatus"] == 1, again
    await check_books(api)


async def _context_of_running_job(api: Api, vm_id: int) -> StepContext:
    """A second StepContext on the job in flight, as a process resuming it would build."""
    async with api.db.engine.connect() as conn:
        row = (await conn.execute(select(async_job).where(async_job.c.instance_id == vm_id))).one()
        progress = await job_queue.load_progress(conn, row.id)
    assert progress is not None
    job = ClaimedJob(
        row.id, row.uuid, row.user_id, row.account_id, row.job_cmd, {}, "VirtualMachine", vm_id
    )

    async def no_hypervisor(host_id: int) -> Any:
        raise AssertionError("the allocation steps do not call hypervisors")

    msid = int(row.job_executing_msid)
    return StepContext(api.db, job, vm_id, dict(progress.state), no_hypervisor, msid)


async def test_resumed_allocation_steps_repeat_nothing(api: Api) -> None:
    ref = await refs(api)
    for host_id in api.seed.infrastructure.host_ids:
        simulators.host(await host_ip(api, host_id)).delay("define", 2.0)
    reply = await api.signed(
        "deployVirtualMachine",
        api.user,
        zoneid=ref.zone,
        serviceofferingid=ref.small,
        templateid=ref.template,
    )
    accepted = reply.inner(ROOT)
    vm = await vm_by_uuid(api, accepted["id"])
    await asyncio.sleep(1.0)  # the job now waits in define, its allocations saved
    resumed = await _context_of_running_job(api, vm.id)
    assert nic_alloc.NICS_KEY in resumed.state and volume_alloc.VOLUMES_KEY in resumed.state
    await nic_alloc.allocate_nics(resumed)
    await volume_alloc.create_volumes(resumed)
    from tests.engine.test_vm_power import wait_job

    result = await wait_job(api, accepted["jobid"], api.user, timeout=30)
    assert result["jobstatus"] == 1, result
    assert len(await rows(api, select(nics).where(nics.c.instance_id == vm.id))) == 1
    assert len(await rows(api, select(volumes).where(volumes.c.instance_id == vm.id))) == 1
    await check_books(api)


async def test_fifty_concurrent_deploys_share_out_addresses_macs_and_capacity(api: Api) -> None:
    ref = await refs(api)
    user = api.user
    for kind, value in (("user_vm", 100), ("cpu", 200), ("memory", 102400), ("volume", 200)):
        await set_limit(api, kind, value, account_id=user.account_id)
        await set_limit(api, kind, -1, domain_id=user.domain_id)
    await set_limit(api, "primary_storage", -1, account_id=user.account_id)
    await set_limit(api, "primary_storage", -1, domain_id=user.domain_id)
    results = await asyncio.gather(*(deployed(api, user, ref) for _ in range(50)))
    assert [r["jobstatus"] for r in results] == [1] * 50, [
        r for r in results if r["jobstatus"] != 1
    ]
    shown = [r["jobresult"]["virtualmachine"] for r in results]
    assert len({vm["ipaddress"] for vm in shown}) == 50
    assert len({vm["nic"][0]["macaddress"] for vm in shown}) == 50
    assert (await counts(api, user.account_id))["user_vm"] == 50
    await check_books(api)
