"""createVolume, attachVolume, detachVolume, resizeVolume (engine jobs) and deleteVolume
through the live API on SQLite and MariaDB: rows, counts, storage capacity, usage and
events; refusals at once; a host refusing the attach leaves nothing half-attached."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from engine.hypervisor.simulator import simulators
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import disk_offering, event, op_host_capacity, usage_event, volumes
from schema_bridge.vm_rows import InsertedVm
from tests.compat_api.conftest import Api, Reply
from tests.engine.deploy_helpers import counts, rows, set_limit
from tests.engine.test_vm_power import host_ip, stopped_vm, vm_row, wait_job

GIB = 1024**3
STORAGE_ALLOCATED = 3


async def offering_uuid(api: Api, offering_id: int) -> str:
    found = await rows(api, select(disk_offering.c.uuid).where(disk_offering.c.id == offering_id))
    return str(found[0][0])


async def volume_row(api: Api, uuid: str) -> Any:
    return (await rows(api, select(volumes).where(volumes.c.uuid == uuid)))[0]


async def allocated(api: Api) -> int:
    pool = api.seed.infrastructure.storage_pool_id
    query = select(op_host_capacity.c.used_capacity).where(
        op_host_capacity.c.host_id == pool, op_host_capacity.c.capacity_type == STORAGE_ALLOCATED
    )
    return int((await rows(api, query))[0][0])


async def job_of(api: Api, reply: Reply, root: str, who: Credentials) -> dict[str, Any]:
    assert reply.status == 200, reply.text
    return await wait_job(api, reply.inner(root)["jobid"], who)


async def new_volume(api: Api, who: Credentials, **params: Any) -> str:
    """A 20 GiB data disk (the seeded fixed offering) made through createVolume."""
    offering = await offering_uuid(api, api.seed.catalog.fixed_disk_offering_id)
    params.setdefault("zoneid", api.seed.infrastructure.zone_uuid)
    reply = await api.signed("createVolume", who, diskofferingid=offering, **params)
    result = await job_of(api, reply, "createvolumeresponse", who)
    assert result["jobstatus"] == 1, result
    return str(reply.inner("createvolumeresponse")["id"])


async def running_vm(api: Api, who: Credentials) -> InsertedVm:
    """A VM started through the engine, so its simulated host holds its domain."""
    vm = await stopped_vm(api, who)
    started = await api.signed("startVirtualMachine", who, id=vm.uuid)
    result = await job_of(api, started, "startvirtualmachineresponse", who)
    assert result["jobstatus"] == 1, result
    return vm


async def sim_disks(api: Api, vm: InsertedVm) -> list[str]:
    row = await vm_row(api, vm.id)
    sim = simulators.host(await host_ip(api, row.host_id)).vm(row.instance_name)
    assert sim is not None
    return sorted(d.device for d in sim.spec.disks)


async def volume_events(api: Api, volume_id: int) -> list[tuple[str, str]]:
    found = await rows(
        api,
        select(event.c.type, event.c.state)
        .where(event.c.resource_id == volume_id, event.c.resource_type == "Volume")
        .order_by(event.c.id),
    )
    return [(str(t), str(s)) for t, s in found]


async def test_create_counts_and_lists(api: Api) -> None:
    user = api.user
    before, storage = await counts(api, user.account_id), await allocated(api)
    offering = await offering_uuid(api, api.seed.catalog.fixed_disk_offering_id)
    reply = await api.signed(
        "createVolume", user, diskofferingid=offering, zoneid=api.seed.infrastructure.zone_uuid
    )
    accepted = reply.inner("createvolumeresponse")
    assert list(accepted) == ["id", "jobid"]
    result = await job_of(api, reply, "createvolumeresponse", user)
    shown = result["jobresult"]["volume"]
    assert (shown["id"], shown["state"], shown["size"]) == (accepted["id"], "Allocated", 20 * GIB)
    listed = await api.signed("listVolumes", user, id=accepted["id"])
    assert listed.inner("listvolumesresponse")["volume"][0] == shown
    after = await counts(api, user.account_id)
    assert after["volume"] == before["volume"] + 1
    assert after["primary_storage"] == before["primary_storage"] + 20 * GIB
    assert await allocated(api) == storage  # not on primary storage until attached
    row = await volume_row(api, accepted["id"])
    assert await volume_events(api, row.id) == [
        ("VOLUME.CREATE", "Created"),
        ("VOLUME.CREATE", "Scheduled"),
        ("VOLUME.CREATE", "Started"),
        ("VOLUME.CREATE", "Completed"),
    ]


async def test_attach_detach_delete(api: Api) -> None:
    user = api.user
    uuid = await new_volume(api, user)
    vm = await running_vm(api, user)
    before, storage = await counts(api, user.account_id), await allocated(api)
    attach = await api.signed("attachVolume", user, id=uuid, virtualmachineid=vm.uuid)
    shown = (await job_of(api, attach, "attachvolumeresponse", user))["jobresult"]["volume"]
    assert (shown["state"], shown["virtualmachineid"], shown["deviceid"]) == ("Ready", vm.uuid, 1)
    row = await volume_row(api, uuid)
    assert row.pool_id == api.seed.infrastructure.storage_pool_id and row.path
    assert await allocated(api) == storage + 20 * GIB
    assert await sim_disks(api, vm) == ["vda", "vdb"]
    detach = await api.signed("detachVolume", user, id=uuid)
    result = await job_of(api, detach, "detachvolumeresponse", user)
    assert "virtualmachineid" not in result["jobresult"]["volume"]
    assert (await volume_row(api, uuid)).instance_id is None
    assert await sim_disks(api, vm) == ["vda"]
    deleted = await api.signed("deleteVolume", user, id=uuid)
    assert deleted.inner("deletevolumeresponse") == {"success": True}
    row = await volume_row(api, uuid)
    assert row.state == "Expunged" and row.removed is not None
    after = await counts(api, user.account_id)
    assert after["volume"] == before["volume"] - 1
    assert after["primary_storage"] == before["primary_storage"] - 20 * GIB
    assert await allocated(api) == storage
    kinds = await rows(api, select(usage_event.c.type).where(usage_event.c.resource_id == row.id))
    assert [k for (k,) in kinds if k.startswith("VOLUME")] == ["VOLUME.CREATE", "VOLUME.DELETE"]
    assert {e for e in await volume_events(api, row.id) if e[1] == "Completed"} >= {
        ("VOLUME.ATTACH", "Completed"),
        ("VOLUME.DETACH", "Completed"),
        ("VOLUME.DELETE", "Completed"),
    }


async def test_create_with_vm_and_device_ids(api: Api) -> None:
    """Attached right away to a stopped VM; device ids 1, 2 then 4 (3 is the CD-ROM's)."""
    vm = await stopped_vm(api)
    uuids = [await new_volume(api, api.user, virtualmachineid=vm.uuid) for _ in range(3)]
    found = [await volume_row(api, u) for u in uuids]
    assert [(v.device_id, v.state) for v in found] == [(1, "Ready"), (2, "Ready"), (4, "Ready")]
    custom = await offering_uuid(api, api.seed.catalog.custom_disk_offering_id)
    reply = await api.signed(
        "createVolume", api.user, diskofferingid=custom, size=5, virtualmachineid=vm.uuid
    )
    result = await job_of(api, reply, "createvolumeresponse", api.user)
    assert result["jobresult"]["volume"]["size"] == 5 * GIB
    assert result["jobresult"]["volume"]["deviceid"] == 5


async def test_attach_refused_by_the_host_leaves_nothing(api: Api) -> None:
    vm = await running_vm(api, api.user)
    uuid = await new_volume(api, api.user)
    storage = await allocated(api)
    row = await vm_row(api, vm.id)
    simulators.host(await host_ip(api, row.host_id)).fail(
        "attach_disk", row.instance_name, times=1, message="no free PCI slot"
    )
    attach = await api.signed("attachVolume", api.user, id=uuid, virtualmachineid=vm.uuid)
    result = await job_of(api, attach, "attachvolumeresponse", api.user)
    assert result["jobstatus"] == 2 and result["jobresultcode"] == 530
    assert "no free PCI slot" in result["jobresult"]["errortext"]
    volume = await volume_row(api, uuid)
    assert (volume.state, volume.instance_id, volume.device_id, volume.pool_id) == (
        "Allocated",
        None,
        None,
        None,
    )
    assert await allocated(api) == storage
    assert await sim_disks(api, vm) == ["vda"]
    again = await api.signed("attachVolume", api.user, id=uuid, virtualmachineid=vm.uuid)
    assert (await job_of(api, again, "attachvolumeresponse", api.user))["jobstatus"] == 1
    assert await sim_disks(api, vm) == ["vda", "vdb"]


async def refused(reply: Reply, root: str) -> tuple[int, str]:
    code, _, text = reply.error(root)
    return code, text


async def test_create_refusals(api: Api) -> None:
    user, zone = api.user, api.seed.infrastructure.zone_uuid
    fixed = await offering_uuid(api, api.seed.catalog.fixed_disk_offering_id)
    custom = await offering_uuid(api, api.seed.catalog.custom_disk_offering_id)
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {},
            "At least one of disk Offering ID or snapshot ID must be passed whilst creating volume",
        ),
        ({"diskofferingid": custom}, "This disk offering requires a custom size specified"),
        ({"diskofferingid": fixed, "size": 3}, "This disk offering does not allow custom size"),
        (
            {"diskofferingid": custom, "size": 5000},
            "Volume size: 5000GB is out of allowed range. Max: 1024 Min:1",
        ),
    ]
    for params, text in cases:
        reply = await api.signed("createVolume", user, zoneid=zone, **params)
        assert await refused(reply, "createvolumeresponse") == (431, text)
    snap = await api.signed(
        "createVolume", user, zoneid=zone, snapshotid="5f0e4a3e-1111-2222-3333-444455556666"
    )
    assert snap.status == 431


async def test_attach_detach_delete_refusals(api: Api) -> None:
    user = api.user
    vm = await stopped_vm(api)
    root = await rows(api, select(volumes.c.uuid).where(volumes.c.id == vm.volume_id))
    root_uuid = str(root[0][0])
    attach = await api.signed("attachVolume", user, id=root_uuid, virtualmachineid=vm.uuid)
    assert await refused(attach, "attachvolumeresponse") == (
        431,
        "Please specify a volume that is not attached to any VM.",
    )
    delete = await api.signed("deleteVolume", user, id=root_uuid)
    assert (await refused(delete, "deletevolumeresponse"))[0] == 431
    free = await new_volume(api, user)
    detach = await api.signed("detachVolume", user, id=free)
    assert await refused(detach, "detachvolumeresponse") == (
        431,
        "The specified volume is not attached to a VM.",
    )
    running = await running_vm(api, user)
    root = await rows(api, select(volumes.c.uuid).where(volumes.c.id == running.volume_id))
    detach_root = await api.signed("detachVolume", user, id=str(root[0][0]))
    assert await refused(detach_root, "detachvolumeresponse") == (
        431,
        "Root volume detach can happen only when vm is in states: Stopped or Destroyed",
    )
    unknown = await api.signed("attachVolume", user, id=free, virtualmachineid=free)
    assert unknown.status == 431
    busy = await api.signed("attachVolume", user, id=free, virtualmachineid=vm.uuid, deviceid=3)
    assert await refused(busy, "attachvolumeresponse") == (431, "deviceId should be 1,2,4-7")


async def test_permissions_and_limits(api: Api) -> None:
    mine = await new_volume(api, api.admin)
    vm = await stopped_vm(api)
    for command, params in (
        ("attachVolume", {"id": mine, "virtualmachineid": vm.uuid}),
        ("deleteVolume", {"id": mine}),
        ("resizeVolume", {"id": mine, "size": 30}),
    ):
        reply = await api.signed(command, api.user, **params)
        assert reply.error(f"{command.lower()}response") == (
            531,
            4365,
            "Caller does not have permission to operate with provided resource.",
        ), command
    user = api.user
    now = (await counts(api, user.account_id))["volume"]
    await set_limit(api, "volume", now, account_id=user.account_id)
    offering = await offering_uuid(api, api.seed.catalog.fixed_disk_offering_id)
    reply = await api.signed(
        "createVolume", user, diskofferingid=offering, zoneid=api.seed.infrastructure.zone_uuid
    )
    code, cs_code, text = reply.error("createvolumeresponse")
    assert (code, cs_code) == (535, 4370)
    assert text == (
        f"Maximum number of resources of type 'volume' for account name={user.account_name} "
        f"in domain id={user.domain_id} has been exceeded."
    )
    assert (await counts(api, user.account_id))["volume"] == now


async def test_resize(api: Api) -> None:
    user = api.user
    custom = await offering_uuid(api, api.seed.catalog.custom_disk_offering_id)
    reply = await api.signed(
        "createVolume",
        user,
        diskofferingid=custom,
        size=10,
        zoneid=api.seed.infrastructure.zone_uuid,
    )
    await job_of(api, reply, "createvolumeresponse", user)
    uuid = reply.inner("createvolumeresponse")["id"]
    before = (await counts(api, user.account_id))["primary_storage"]
    grow = await api.signed("resizeVolume", user, id=uuid, size=15)
    result = await job_of(api, grow, "resizevolumeresponse", user)
    assert result["jobresult"]["volume"]["size"] == 15 * GIB
    assert (await counts(api, user.account_id))["primary_storage"] == before + 5 * GIB
    shrink = await api.signed("resizeVolume", user, id=uuid, size=12)
    code, text = await refused(shrink, "resizevolumeresponse")
    assert code == 431 and "shrinkok" in text
    ok = await api.signed("resizeVolume", user, id=uuid, size=12, shrinkok="true")
    assert (await job_of(api, ok, "resizevolumeresponse", user))["jobstatus"] == 1
    assert (await counts(api, user.account_id))["primary_storage"] == before + 2 * GIB
    resize_usage = await rows(
        api, select(usage_event.c.size).where(usage_event.c.type == "VOLUME.RESIZE")
    )
    assert [s for (s,) in resize_usage] == [15 * GIB, 12 * GIB]
    fixed = await new_volume(api, user)
    refused_fixed = await api.signed("resizeVolume", user, id=fixed, size=40)
    assert (await refused(refused_fixed, "resizevolumeresponse"))[0] == 431
    await set_limit(api, "primary_storage", before + 3 * GIB, account_id=user.account_id)
    over = await api.signed("resizeVolume", user, id=uuid, size=100)
    assert over.error("resizevolumeresponse")[:2] == (535, 4370)


async def test_detach_refused_by_the_host_keeps_the_disk(api: Api) -> None:
    vm = await running_vm(api, api.user)
    uuid = await new_volume(api, api.user, virtualmachineid=vm.uuid)
    row = await vm_row(api, vm.id)
    simulators.host(await host_ip(api, row.host_id)).fail(
        "detach_disk", row.instance_name, times=1, message="guest holds the disk", after=True
    )
    detach = await api.signed("detachVolume", api.user, id=uuid)
    result = await job_of(api, detach, "detachvolumeresponse", api.user)
    assert result["jobstatus"] == 2 and "guest holds the disk" in result["jobresult"]["errortext"]
    volume = await volume_row(api, uuid)
    assert (volume.state, volume.instance_id, volume.device_id) == ("Ready", vm.id, 1)
    assert await sim_disks(api, vm) == ["vda", "vdb"]  # the half-done detach was undone


async def test_concurrent_attaches_get_distinct_devices(api: Api) -> None:
    vm = await running_vm(api, api.user)
    uuids = [await new_volume(api, api.user) for _ in range(3)]
    replies = await asyncio.gather(
        *(api.signed("attachVolume", api.user, id=u, virtualmachineid=vm.uuid) for u in uuids)
    )
    results = [await job_of(api, r, "attachvolumeresponse", api.user) for r in replies]
    assert {r["jobresult"]["volume"]["deviceid"] for r in results} == {1, 2, 4}
    assert await sim_disks(api, vm) == ["vda", "vdb", "vdc", "vde"]
