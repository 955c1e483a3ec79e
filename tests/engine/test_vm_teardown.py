"""destroyVirtualMachine, expungeVirtualMachine and recoverVirtualMachine through the live API
(SQLite and MariaDB): what each leaves in the rows, counts, capacity and events, and that a
host refusing its part leaves nothing half-done."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from engine.hypervisor.simulator import simulators
from schema_bridge.capacity import CPU, MEMORY, MIB
from schema_bridge.ids import VOLUME_SEQ, new_uuid, next_id
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import (
    account_details,
    event,
    nics,
    op_host_capacity,
    resource_count,
    usage_event,
    user_ip_address,
    vm_instance,
    volumes,
)
from schema_bridge.vm_accounting import count
from schema_bridge.vm_rows import InsertedVm, VmRequest, insert_vm
from schema_bridge.vm_teardown import STORAGE_ALLOCATED
from tests.compat_api.conftest import Api
from tests.engine.deploy_helpers import check_books
from tests.engine.test_vm_power import host_ip, stopped_vm, used, vm_row, wait_job

SMALL_MB = 512
EXPUNGE_DENIED = (
    "Parameter expunge can be passed by Admin only. Or when the "
    "allow.user.expunge.recover.vm key is set."
)


async def running_vm(api: Api, who: Credentials | None = None) -> InsertedVm:
    seed = api.seed
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        states=("Running",),
    )
    return await insert_vm(api.db, who or api.user, request)


async def counts(api: Api, who: Credentials) -> dict[str, int]:
    """The account's and its domain's untagged counts, as {"user_vm": n, "d.user_vm": n...}."""
    async with api.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    resource_count.c.account_id, resource_count.c.type, resource_count.c.count
                ).where(
                    resource_count.c.tag.is_(None),
                    (resource_count.c.account_id == who.account_id)
                    | (resource_count.c.domain_id == who.domain_id),
                )
            )
        ).all()
    return {(k if a is not None else f"d.{k}"): int(n) for a, k, n in rows}


async def run(api: Api, command: str, who: Credentials, **params: Any) -> dict[str, Any]:
    reply = await api.signed(command, who, **params)
    accepted = reply.inner(f"{command.lower()}response")
    assert "jobid" in accepted, accepted
    return await wait_job(api, accepted["jobid"], who)


async def one(api: Api, query: Any) -> Any:
    async with api.db.engine.connect() as conn:
        return (await conn.execute(query)).one()


async def usage_types(api: Api, resource_id: int, family: str = "VM.") -> list[str]:
    """Usage event types of one VM (or, with family "VOLUME.", one volume): ids of the two
    kinds come from different sequences and may be equal."""
    async with api.db.engine.connect() as conn:
        rows = await conn.execute(
            select(usage_event.c.type)
            .where(usage_event.c.resource_id == resource_id)
            .where(usage_event.c.type.like(f"{family}%"))
            .order_by(usage_event.c.id)
        )
        return [str(r[0]) for r in rows]


async def event_trail(api: Api, vm_id: int, kind: str) -> list[tuple[str, str]]:
    async with api.db.engine.connect() as conn:
        rows = await conn.execute(
            select(event.c.state, event.c.level)
            .where(event.c.resource_id == vm_id, event.c.type == kind)
            .order_by(event.c.id)
        )
        return [(str(s), str(level)) for s, level in rows]


async def address(api: Api, ip: str) -> Any:
    return await one(
        api,
        select(user_ip_address).where(
            user_ip_address.c.public_ip_address == ip,
            user_ip_address.c.source_network_id == api.seed.networking.guest_network_id,
        ),
    )


async def pool_allocated(api: Api) -> int:
    row = await one(
        api,
        select(op_host_capacity.c.used_capacity).where(
            op_host_capacity.c.host_id == api.seed.infrastructure.storage_pool_id,
            op_host_capacity.c.capacity_type == STORAGE_ALLOCATED,
        ),
    )
    return int(row[0])


async def allow_user_expunge(api: Api, who: Credentials) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(account_details).values(
                account_id=who.account_id, name="allow.user.expunge.recover.vm", value="true"
            )
        )


async def data_disk(api: Api, vm: InsertedVm, device_id: int, size: int = 2 * 1024**3) -> Any:
    """A Ready DATADISK attached to `vm`, counted and allocated as an attach leaves it."""
    volume_id = await next_id(api.db, VOLUME_SEQ)
    pool = api.seed.infrastructure.storage_pool_id
    who = api.user
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(volumes).values(
                id=volume_id, uuid=new_uuid(), name=f"DATA-{volume_id}", volume_type="DATADISK",
                account_id=who.account_id, domain_id=who.domain_id, instance_id=vm.id,
                device_id=device_id, size=size, pool_id=pool, data_center_id=api.seed.infrastructure.zone_id,
                disk_offering_id=api.seed.catalog.fixed_disk_offering_id, state="Ready",
                format="QCOW2", path=new_uuid(),
            )
        )  # fmt: skip
        await count(conn, who.account_id, {"volume": 1, "primary_storage": size})
        await conn.execute(
            update(op_host_capacity)
            .where(
                op_host_capacity.c.host_id == pool,
                op_host_capacity.c.capacity_type == STORAGE_ALLOCATED,
            )
            .values(used_capacity=op_host_capacity.c.used_capacity + size)
        )
    return await one(api, select(volumes).where(volumes.c.id == volume_id))


async def destroyed_vm(api: Api) -> InsertedVm:
    vm = await stopped_vm(api)
    result = await run(api, "destroyVirtualMachine", api.user, id=vm.uuid)
    assert result["jobstatus"] == 1, result
    return vm


async def test_destroy_running_vm_gives_back_its_counts_and_host(api: Api) -> None:
    vm = await running_vm(api)
    before = await counts(api, api.user)
    cpu, memory = await used(api, vm.host_id, CPU), await used(api, vm.host_id, MEMORY)
    result = await run(api, "destroyVirtualMachine", api.user, id=vm.uuid)
    assert result["jobstatus"] == 1, result
    shown = result["jobresult"]["virtualmachine"]
    assert shown["id"] == vm.uuid and shown["state"] == "Destroyed"
    row = await vm_row(api, vm.id)
    assert (row.state, row.host_id, row.power_state, row.removed) == (
        "Destroyed", None, "PowerOff", None,
    )  # fmt: skip
    after = await counts(api, api.user)
    for kind, amount in (("user_vm", 1), ("cpu", 1), ("memory", SMALL_MB)):
        assert after[kind] == before[kind] - amount
        assert after[f"d.{kind}"] == before[f"d.{kind}"] - amount
    assert after["volume"] == before["volume"]  # volumes go at expunge
    assert await used(api, vm.host_id, CPU) == cpu - 500
    assert await used(api, vm.host_id, MEMORY) == memory - SMALL_MB * MIB
    assert await usage_types(api, vm.id) == ["VM.STOP", "VM.DESTROY"]
    assert await usage_types(api, vm.volume_id, "VOLUME.") == ["VOLUME.DELETE"]
    assert await event_trail(api, vm.id, "VM.DESTROY") == [
        ("Scheduled", "INFO"), ("Started", "INFO"), ("Completed", "INFO"),
    ]  # fmt: skip
    assert (await address(api, vm.ip_address)).state == "Allocated"
    listed = await api.signed("listVirtualMachines", api.user, id=vm.uuid)
    assert "virtualmachine" not in listed.inner("listvirtualmachinesresponse")


async def test_destroy_and_recover_round_trip(api: Api) -> None:
    vm = await stopped_vm(api)
    before = await counts(api, api.user)
    await run(api, "destroyVirtualMachine", api.user, id=vm.uuid)
    denied = await api.signed("recoverVirtualMachine", api.user, id=vm.uuid)
    assert denied.error("recovervirtualmachineresponse") == (
        531,
        4365,
        "Recovering a vm can only be done by an Admin. Or when the "
        "allow.user.expunge.recover.vm key is set.",
    )
    reply = await api.signed("recoverVirtualMachine", api.admin, id=vm.uuid)
    shown = reply.inner("recovervirtualmachineresponse")["virtualmachine"]
    assert shown["id"] == vm.uuid and shown["state"] == "Stopped"
    assert (await vm_row(api, vm.id)).state == "Stopped"
    assert await counts(api, api.user) == before
    assert await usage_types(api, vm.id) == ["VM.DESTROY", "VM.CREATE"]
    assert await usage_types(api, vm.volume_id, "VOLUME.") == ["VOLUME.DELETE", "VOLUME.CREATE"]
    assert await event_trail(api, vm.id, "VM.RECOVER") == [("Completed", "INFO")]
    again = await api.signed("recoverVirtualMachine", api.admin, id=vm.uuid)
    assert again.error("recovervirtualmachineresponse") == (
        431,
        4350,
        f"Vm with id {vm.uuid} is not in the right state",
    )
    started = await run(api, "startVirtualMachine", api.user, id=vm.uuid)
    assert started["jobresult"]["virtualmachine"]["state"] == "Running"


async def test_expunge_frees_address_volume_and_storage(api: Api) -> None:
    vm = await destroyed_vm(api)
    before = await counts(api, api.user)
    allocated = await pool_allocated(api)
    result = await run(api, "expungeVirtualMachine", api.admin, id=vm.uuid)
    assert result["jobstatus"] == 1, result
    assert result["jobresult"] == {"success": True}
    row = await vm_row(api, vm.id)
    assert row.removed is not None and row.state == "Expunging"
    freed = await address(api, vm.ip_address)
    assert (freed.state, freed.account_id, freed.allocated) == ("Free", None, None)
    nic = await one(api, select(nics.c.removed).where(nics.c.instance_id == vm.id))
    assert nic.removed is not None
    volume = await one(api, select(volumes).where(volumes.c.id == vm.volume_id))
    assert volume.state == "Expunged" and volume.removed is not None
    assert await pool_allocated(api) == allocated - vm.volume_size
    after = await counts(api, api.user)
    assert after["volume"] == before["volume"] - 1
    assert after["primary_storage"] == before["primary_storage"] - vm.volume_size
    assert after["user_vm"] == before["user_vm"]
    assert await event_trail(api, vm.id, "VM.EXPUNGE") == [
        ("Scheduled", "INFO"), ("Started", "INFO"), ("Completed", "INFO"),
    ]  # fmt: skip
    # The address is the lowest free one again: the next VM gets it.
    reused = await stopped_vm(api)
    assert reused.ip_address == vm.ip_address
    gone = await api.signed("destroyVirtualMachine", api.admin, id=vm.uuid)
    assert gone.error("destroyvirtualmachineresponse") == (
        431,
        4350,
        f"unable to find a virtual machine with id {vm.uuid}",
    )
    twice = await run(api, "expungeVirtualMachine", api.admin, id=vm.uuid)
    assert twice["jobstatus"] == 1  # expunging an expunged VM succeeds and changes nothing
    await check_books(api)


async def test_destroy_with_expunge(api: Api) -> None:
    vm = await running_vm(api)
    before = await counts(api, api.user)
    denied = await api.signed("destroyVirtualMachine", api.user, id=vm.uuid, expunge="true")
    assert denied.error("destroyvirtualmachineresponse") == (531, 4365, EXPUNGE_DENIED)
    await allow_user_expunge(api, api.user)
    result = await run(api, "destroyVirtualMachine", api.user, id=vm.uuid, expunge="true")
    assert result["jobstatus"] == 1, result
    assert result["jobresult"] == {"virtualmachine": {}}
    row = await vm_row(api, vm.id)
    assert row.removed is not None and row.host_id is None
    assert (await address(api, vm.ip_address)).state == "Free"
    after = await counts(api, api.user)
    assert after["user_vm"] == before["user_vm"] - 1
    assert after["volume"] == before["volume"] - 1
    assert await usage_types(api, vm.id) == ["VM.STOP", "VM.DESTROY"]
    await check_books(api)


async def test_destroy_deletes_named_data_disks_and_detaches_the_others(api: Api) -> None:
    vm = await running_vm(api)
    named, kept = await data_disk(api, vm, 1), await data_disk(api, vm, 2)
    before = await counts(api, api.user)
    result = await run(
        api, "destroyVirtualMachine", api.admin, id=vm.uuid, expunge="true", volumeids=named.uuid
    )
    assert result["jobstatus"] == 1, result
    gone = await one(api, select(volumes).where(volumes.c.id == named.id))
    assert (gone.state, gone.instance_id) == ("Expunged", None) and gone.removed is not None
    left = await one(api, select(volumes).where(volumes.c.id == kept.id))
    assert (left.state, left.instance_id, left.removed) == ("Ready", None, None)
    after = await counts(api, api.user)
    assert after["volume"] == before["volume"] - 2  # the ROOT volume and the named disk
    assert after["primary_storage"] == before["primary_storage"] - vm.volume_size - named.size
    assert await usage_types(api, named.id, "VOLUME.") == ["VOLUME.DELETE"]
    assert await usage_types(api, kept.id, "VOLUME.") == []
    await check_books(api)


async def test_expunge_and_recover_of_a_live_vm_are_refused(api: Api) -> None:
    vm = await stopped_vm(api)
    early = await api.signed("expungeVirtualMachine", api.admin, id=vm.uuid)
    assert early.error("expungevirtualmachineresponse") == (
        530,
        9999,
        "Please destroy vm with specified vmId before expunge",
    )
    not_destroyed = await api.signed("recoverVirtualMachine", api.admin, id=vm.uuid)
    assert not_destroyed.error("recovervirtualmachineresponse")[:2] == (431, 4350)


async def test_destroy_refusals_come_at_once(api: Api) -> None:
    vm = await stopped_vm(api)
    stranger = await stopped_vm(api, api.admin)
    other = await api.signed("destroyVirtualMachine", api.user, id=stranger.uuid)
    assert other.error("destroyvirtualmachineresponse") == (
        531,
        4365,
        "Caller does not have permission to operate with provided resource.",
    )
    unknown = await api.signed(
        "destroyVirtualMachine", api.user, id="00000000-0000-4000-8000-000000000000"
    )
    assert unknown.error("destroyvirtualmachineresponse")[0] == 431
    root = await one(
        api, select(volumes.c.uuid, volumes.c.name).where(volumes.c.id == vm.volume_id)
    )
    listed = await api.signed("destroyVirtualMachine", api.user, id=vm.uuid, volumeids=root.uuid)
    assert listed.error("destroyvirtualmachineresponse") == (
        431,
        4350,
        "The following supplied volumes are not DATADISK attached to the VM: "
        f"Volume {{uuid: {root.uuid}, name: {root.name}}}; ",
    )
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(vm_instance).where(vm_instance.c.id == vm.id).values(delete_protection=True)
        )
    protected = await api.signed("destroyVirtualMachine", api.user, id=vm.uuid)
    assert protected.error("destroyvirtualmachineresponse") == (
        431,
        4350,
        f"Instance [id = {vm.uuid}, name = {vm.name}] has delete protection enabled and cannot "
        "be deleted.",
    )
    user_expunge = await api.signed("expungeVirtualMachine", api.user, id=vm.uuid)
    assert user_expunge.status == 530  # the state is refused before the permission


async def test_destroy_fails_cleanly_when_the_host_refuses_to_stop(api: Api) -> None:
    vm = await running_vm(api)
    before = await counts(api, api.user)
    cpu = await used(api, vm.host_id, CPU)
    simulators.host(await host_ip(api, vm.host_id)).fail(
        "stop", vm.instance_name, times=1, message="guest hung"
    )
    result = await run(api, "destroyVirtualMachine", api.user, id=vm.uuid)
    assert result["jobstatus"] == 2 and result["jobresultcode"] == 530
    assert "guest hung" in result["jobresult"]["errortext"]
    row = await vm_row(api, vm.id)
    assert (row.state, row.host_id) == ("Running", vm.host_id)
    assert await used(api, vm.host_id, CPU) == cpu
    assert await counts(api, api.user) == before
    assert await usage_types(api, vm.id) == []
    assert (await event_trail(api, vm.id, "VM.DESTROY"))[-1] == ("Completed", "ERROR")
    await check_books(api)
    retried = await run(api, "destroyVirtualMachine", api.user, id=vm.uuid)
    assert retried["jobresult"]["virtualmachine"]["state"] == "Destroyed"


async def test_expunge_fails_cleanly_when_the_host_refuses(api: Api) -> None:
    vm = await destroyed_vm(api)
    before = await counts(api, api.user)
    simulators.host(await host_ip(api, vm.host_id)).fail(
        "destroy", vm.instance_name, times=1, message="storage busy"
    )
    result = await run(api, "expungeVirtualMachine", api.admin, id=vm.uuid)
    assert result["jobstatus"] == 2 and result["jobresultcode"] == 530
    assert result["jobresult"]["errortext"] == (
        f"Failed to expunge VM {vm.uuid} due to: simulator on host "
        f"{await host_ip(api, vm.host_id)} refused to destroy {vm.instance_name}: storage busy"
    )
    row = await vm_row(api, vm.id)
    assert (row.state, row.removed) == ("Destroyed", None)
    assert (await address(api, vm.ip_address)).state == "Allocated"
    nic = await one(api, select(nics.c.removed).where(nics.c.instance_id == vm.id))
    assert nic.removed is None
    volume = await one(api, select(volumes.c.state).where(volumes.c.id == vm.volume_id))
    assert volume.state == "Ready"
    assert await counts(api, api.user) == before
    again = await run(api, "expungeVirtualMachine", api.admin, id=vm.uuid)
    assert again["jobstatus"] == 1


async def test_destroy_with_expunge_keeps_the_destroy_when_expunge_is_refused(api: Api) -> None:
    vm = await stopped_vm(api)
    simulators.host(await host_ip(api, vm.host_id)).fail("destroy", vm.instance_name, times=1)
    result = await run(api, "destroyVirtualMachine", api.admin, id=vm.uuid, expunge="true")
    assert result["jobstatus"] == 2
    assert result["jobresult"]["errortext"].startswith(f"Failed to expunge VM {vm.uuid}")
    row = await vm_row(api, vm.id)
    assert (row.state, row.removed) == ("Destroyed", None)
    assert (await address(api, vm.ip_address)).state == "Allocated"
    finished = await run(api, "destroyVirtualMachine", api.admin, id=vm.uuid, expunge="true")
    assert finished["jobstatus"] == 1
    assert (await vm_row(api, vm.id)).removed is not None
    assert await usage_types(api, vm.id) == ["VM.DESTROY"]


async def test_expunge_removes_the_definition_from_the_host(api: Api) -> None:
    vm = await stopped_vm(api)
    await run(api, "startVirtualMachine", api.user, id=vm.uuid)
    host_id = (await vm_row(api, vm.id)).host_id
    sim = simulators.host(await host_ip(api, host_id))
    assert sim.vm(vm.instance_name) is not None
    result = await run(api, "destroyVirtualMachine", api.admin, id=vm.uuid, expunge="true")
    assert result["jobstatus"] == 1, result
    assert sim.vm(vm.instance_name) is None
    await check_books(api)
