"""updateVirtualMachine, changeServiceForVirtualMachine and scaleVirtualMachine through the
live API (SQLite and MariaDB): fields, counts, capacity, usage events, the refusals CloudStack
makes, and a live scale that a host refuses leaving nothing changed."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import insert, select, update

from engine.hypervisor.simulator import simulators
from schema_bridge.capacity import CPU, MEMORY, MIB
from schema_bridge.tables import (
    configuration,
    guest_os,
    instance_group,
    instance_group_vm_map,
    resource_limit,
    service_offering,
    user_vm,
    vm_instance,
)
from tests.compat_api.conftest import Api
from tests.engine.deploy_helpers import check_books
from tests.engine.test_vm_power import host_ip, stopped_vm, used, vm_row
from tests.engine.test_vm_teardown import counts, event_trail, one, run, usage_types

SCALE_DISABLED = (
    "Dynamically scaling virtual machines is disabled for this zone, please contact your admin."
)


async def offering_uuid(api: Api, offering_id: int) -> str:
    row = await one(
        api, select(service_offering.c.uuid).where(service_offering.c.id == offering_id)
    )
    return str(row.uuid)


async def set_config(api: Api, name: str, value: str) -> None:
    async with api.db.engine.begin() as conn:
        changed = await conn.execute(
            update(configuration).where(configuration.c.name == name).values(value=value)
        )
        if changed.rowcount == 0:
            await conn.execute(
                insert(configuration).values(
                    category="Advanced", instance="DEFAULT", component="UserVmManager",
                    name=name, value=value, default_value="false",
                )
            )  # fmt: skip


def update_error(reply: Any) -> tuple[int, int | None, str]:
    result: tuple[int, int | None, str] = reply.error("updatevirtualmachineresponse")
    return result


async def test_update_fields(api: Api) -> None:
    vm = await stopped_vm(api)
    other_os = await one(api, select(guest_os.c.id, guest_os.c.uuid).where(guest_os.c.id == 2))
    data = base64.b64encode(b"#cloud-config\n").decode()
    details: dict[str, Any] = {"details[0].keyboard": "de"}
    reply = await api.signed(
        "updateVirtualMachine", api.user, id=vm.uuid, displayname="web one", name="web-1",
        group="frontend", ostypeid=other_os.uuid, userdata=data, deleteprotection="true",
        **details,
    )  # fmt: skip
    shown = reply.inner("updatevirtualmachineresponse")["virtualmachine"]
    assert (shown["displayname"], shown["name"], shown["group"]) == ("web one", "web-1", "frontend")
    assert shown["ostypeid"] == other_os.uuid and shown["deleteprotection"] is True
    assert shown["details"] == {"keyboard": "de"}
    row = await vm_row(api, vm.id)
    assert (row.name, row.display_name, row.guest_os_id) == ("web-1", "web one", other_os.id)
    stored = await one(api, select(user_vm.c.user_data).where(user_vm.c.id == vm.id))
    assert stored.user_data == data
    group = await one(
        api,
        select(instance_group.c.name)
        .join(instance_group_vm_map, instance_group_vm_map.c.group_id == instance_group.c.id)
        .where(instance_group_vm_map.c.instance_id == vm.id),
    )
    assert group.name == "frontend"
    assert await event_trail(api, vm.id, "VM.UPDATE") == [("Completed", "INFO")]
    listed = await api.signed("listVirtualMachines", api.user, id=vm.uuid)
    assert listed.inner("listvirtualmachinesresponse")["virtualmachine"][0] == shown


async def test_update_refusals(api: Api) -> None:
    vm, neighbour = await stopped_vm(api), await stopped_vm(api)
    ha = await api.signed("updateVirtualMachine", api.user, id=vm.uuid, haenable="true")
    assert update_error(ha) == (
        431,
        4350,
        "Can't enable ha for the vm as it's created from the Service offering having HA disabled",
    )
    bad = await api.signed("updateVirtualMachine", api.user, id=vm.uuid, name="9lives")
    assert update_error(bad)[:2] == (431, 4350)
    assert update_error(bad)[2].startswith("Invalid name. Vm name can contain ASCII letters")
    taken = await api.signed("updateVirtualMachine", api.user, id=vm.uuid, name=neighbour.name)
    assert f"The vm with hostName {neighbour.name} already exists" in update_error(taken)[2]
    scalable = await api.signed(
        "updateVirtualMachine", api.user, id=vm.uuid, isdynamicallyscalable="true"
    )
    assert update_error(scalable) == (
        431,
        4350,
        "Dynamic Scaling cannot be enabled for the VM since its template does not have dynamic "
        "scaling enabled",
    )
    restricted: dict[str, Any] = {"details[0].rootdisksize": "50"}
    hidden = await api.signed("updateVirtualMachine", api.user, id=vm.uuid, **restricted)
    assert update_error(hidden)[2] == (
        "You're not allowed to add or edit the restricted setting: rootdisksize"
    )
    junk = await api.signed("updateVirtualMachine", api.user, id=vm.uuid, userdata="not*base64")
    assert update_error(junk)[2] == "User data is not base64 encoded"
    stranger = await stopped_vm(api, api.admin)
    denied = await api.signed("updateVirtualMachine", api.user, id=stranger.uuid, name="x")
    assert update_error(denied)[:2] == (531, 4365)
    assert (await vm_row(api, vm.id)).name == vm.name  # nothing was written


async def test_change_service_of_a_stopped_vm(api: Api) -> None:
    vm = await stopped_vm(api)
    medium = await offering_uuid(api, api.seed.catalog.medium_offering_id)
    before = await counts(api, api.user)
    reply = await api.signed(
        "changeServiceForVirtualMachine", api.user, id=vm.uuid, serviceofferingid=medium
    )
    shown = reply.inner("changeserviceforvirtualmachineresponse")["virtualmachine"]
    assert (shown["serviceofferingid"], shown["cpunumber"], shown["memory"]) == (medium, 2, 2048)
    after = await counts(api, api.user)
    assert after["cpu"] == before["cpu"] + 1 and after["memory"] == before["memory"] + 1536
    assert after["d.cpu"] == before["d.cpu"] + 1
    assert await usage_types(api, vm.id) == ["VM.UPGRADE"]
    assert await event_trail(api, vm.id, "VM.UPGRADE") == [("Completed", "INFO")]
    await check_books(api)
    same = await api.signed(
        "changeServiceForVirtualMachine", api.user, id=vm.uuid, serviceofferingid=medium
    )
    code, cs_code, text = same.error("changeserviceforvirtualmachineresponse")
    assert (code, cs_code) == (431, 4350) and text.startswith("Not upgrading vm VM instance")
    await run(api, "startVirtualMachine", api.user, id=vm.uuid)
    small = await offering_uuid(api, api.seed.catalog.small_offering_id)
    running = await api.signed(
        "changeServiceForVirtualMachine", api.user, id=vm.uuid, serviceofferingid=small
    )
    code, _, text = running.error("changeserviceforvirtualmachineresponse")
    assert code == 431 and "in state Running; make sure the virtual machine is stopped" in text


async def test_limits_refuse_a_bigger_offering(api: Api) -> None:
    vm = await stopped_vm(api)
    have = (await counts(api, api.user))["cpu"]
    async with api.db.engine.begin() as conn:
        # The seed gives the account explicit limits: tighten its cpu row to what it uses.
        await conn.execute(
            update(resource_limit)
            .where(
                resource_limit.c.account_id == api.user.account_id, resource_limit.c.type == "cpu"
            )
            .values(max=have)
        )
    large = await offering_uuid(api, api.seed.catalog.large_offering_id)
    reply = await api.signed(
        "changeServiceForVirtualMachine", api.user, id=vm.uuid, serviceofferingid=large
    )
    code, cs_code, text = reply.error("changeserviceforvirtualmachineresponse")
    assert (code, cs_code) == (535, 4370)
    assert text.startswith("Maximum number of resources of type 'cpu' for account name=")
    scale = await api.signed("scaleVirtualMachine", api.user, id=vm.uuid, serviceofferingid=large)
    assert scale.error("scalevirtualmachineresponse")[:2] == (535, 4370)
    assert (await vm_row(api, vm.id)).service_offering_id == api.seed.catalog.small_offering_id


async def test_scale_a_stopped_vm(api: Api) -> None:
    vm = await stopped_vm(api)
    large = await offering_uuid(api, api.seed.catalog.large_offering_id)
    result = await run(api, "scaleVirtualMachine", api.user, id=vm.uuid, serviceofferingid=large)
    assert result["jobstatus"] == 1, result
    shown = result["jobresult"]["virtualmachine"]
    assert (shown["state"], shown["serviceofferingid"], shown["cpunumber"]) == ("Stopped", large, 4)
    assert await usage_types(api, vm.id) == ["VM.UPGRADE"]
    assert await event_trail(api, vm.id, "VM.UPGRADE") == [
        ("Scheduled", "INFO"), ("Started", "INFO"), ("Completed", "INFO"),
    ]  # fmt: skip


async def started_vm(api: Api) -> Any:
    vm = await stopped_vm(api)
    await run(api, "startVirtualMachine", api.user, id=vm.uuid)
    return await vm_row(api, vm.id)


async def test_scale_a_running_vm_live(api: Api) -> None:
    row = await started_vm(api)
    medium = await offering_uuid(api, api.seed.catalog.medium_offering_id)
    disabled = await api.signed(
        "scaleVirtualMachine", api.user, id=row.uuid, serviceofferingid=medium
    )
    assert disabled.error("scalevirtualmachineresponse") == (531, 4365, SCALE_DISABLED)
    await set_config(api, "enable.dynamic.scale.vm", "true")
    no_tools = await api.signed(
        "scaleVirtualMachine", api.user, id=row.uuid, serviceofferingid=medium
    )
    code, _, text = no_tools.error("scalevirtualmachineresponse")
    assert code == 530 and text.endswith("does not have tools to support dynamic scaling.")
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(vm_instance).where(vm_instance.c.id == row.id).values(dynamically_scalable=True)
        )
    before = await counts(api, api.user)
    cpu, memory = await used(api, row.host_id, CPU), await used(api, row.host_id, MEMORY)
    result = await run(api, "scaleVirtualMachine", api.user, id=row.uuid, serviceofferingid=medium)
    assert result["jobstatus"] == 1, result
    shown = result["jobresult"]["virtualmachine"]
    assert (shown["state"], shown["cpunumber"], shown["memory"]) == ("Running", 2, 2048)
    assert await used(api, row.host_id, CPU) == cpu + 2 * 1000 - 500
    assert await used(api, row.host_id, MEMORY) == memory + 1536 * MIB
    spec = simulators.host(await host_ip(api, row.host_id)).vm(row.instance_name)
    assert spec is not None and (spec.spec.vcpus, spec.spec.memory_mb) == (2, 2048)
    assert (await counts(api, api.user))["cpu"] == before["cpu"] + 1
    assert await usage_types(api, row.id) == ["VM.DYNAMIC.SCALE"]
    small = await offering_uuid(api, api.seed.catalog.small_offering_id)
    down = await api.signed("scaleVirtualMachine", api.user, id=row.uuid, serviceofferingid=small)
    code, _, text = down.error("scalevirtualmachineresponse")
    assert code == 431 and text.startswith("While the VM is running, only scalling up")
    stopped = await run(api, "stopVirtualMachine", api.user, id=row.uuid)
    assert stopped["jobstatus"] == 1
    assert await used(api, row.host_id, CPU) == cpu - 500  # the grown size was given back
    await check_books(api)


async def test_live_scale_refused_by_the_host_changes_nothing(api: Api) -> None:
    row = await started_vm(api)
    await set_config(api, "enable.dynamic.scale.vm", "true")
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(vm_instance).where(vm_instance.c.id == row.id).values(dynamically_scalable=True)
        )
    before = await counts(api, api.user)
    cpu, memory = await used(api, row.host_id, CPU), await used(api, row.host_id, MEMORY)
    sim = simulators.host(await host_ip(api, row.host_id))
    sim.fail("define", row.instance_name, times=1, message="no hotplug")
    large = await offering_uuid(api, api.seed.catalog.large_offering_id)
    result = await run(api, "scaleVirtualMachine", api.user, id=row.uuid, serviceofferingid=large)
    assert result["jobstatus"] == 2 and result["jobresultcode"] == 530
    assert "no hotplug" in result["jobresult"]["errortext"]
    after = await vm_row(api, row.id)
    assert (after.state, after.service_offering_id) == ("Running", row.service_offering_id)
    assert await used(api, row.host_id, CPU) == cpu
    assert await used(api, row.host_id, MEMORY) == memory
    assert await counts(api, api.user) == before
    simulated = sim.vm(row.instance_name)
    assert simulated is not None and simulated.spec.vcpus == 1
    assert await usage_types(api, row.id) == []
    await check_books(api)
