"""deployVirtualMachine through the live API, as a durable engine job (SQLite and MariaDB):
what a successful deploy leaves in every table it touches."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import insert, select

from engine.hypervisor.driver import PowerState
from engine.hypervisor.simulator import simulators
from schema_bridge.capacity import CPU, MEMORY, MIB
from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.tables import (
    disk_offering,
    event,
    instance_group,
    instance_group_vm_map,
    nics,
    op_networks,
    service_offering,
    ssh_keypairs,
    usage_event,
    usage_event_details,
    user_ip_address,
    user_vm,
    user_vm_details,
    volumes,
)
from schema_bridge.vm_volumes import STORAGE_ALLOCATED
from tests.compat_api.conftest import Api
from tests.engine.deploy_helpers import (
    GIB,
    check_books,
    counts,
    deploy,
    deployed,
    host_ip,
    host_uuid,
    refs,
    rows,
    used,
    vm_by_uuid,
)
from tests.engine.test_vm_power import wait_job


async def _check_nic(api: Api, vm: Any) -> None:
    [nic] = await rows(api, select(nics).where(nics.c.instance_id == vm.id))
    [address] = await rows(
        api, select(user_ip_address).where(user_ip_address.c.public_ip_address == nic.ip4_address)
    )
    assert address.state == "Allocated" and address.account_id == vm.account_id
    assert vm.private_ip_address == nic.ip4_address and vm.private_mac_address == nic.mac_address
    # A shared network's MAC: 06, the mac.identifier byte, a random byte, the address counter.
    assert nic.mac_address.startswith("06:00:")
    assert int(nic.mac_address.replace(":", "")[-6:], 16) == int(address.mac_address)
    assert (nic.default_nic, nic.device_id, nic.reserver_name) == (1, 0, "DirectNetworkGuru")
    [network] = await rows(
        api, select(op_networks).where(op_networks.c.id == api.seed.networking.guest_network_id)
    )
    assert network.nics_count == 1


async def _check_events_and_usage(api: Api, vm: Any, root: Any) -> None:
    states = await rows(
        api,
        select(event.c.state, event.c.level)
        .where(event.c.resource_id == vm.id, event.c.type == "VM.CREATE")
        .order_by(event.c.id),
    )
    assert [tuple(s) for s in states] == [
        ("Created", "INFO"),
        ("Scheduled", "INFO"),
        ("Started", "INFO"),
        ("Completed", "INFO"),
    ]
    usage = await rows(api, select(usage_event).order_by(usage_event.c.id))
    assert [(u.type, u.resource_id) for u in usage] == [
        ("VM.CREATE", vm.id),
        ("VOLUME.CREATE", root.id),
        ("VM.START", vm.id),
    ]
    assert usage[0].resource_type == "Simulator" and usage[1].size == root.size


async def _check_placement(api: Api, vm: Any) -> None:
    assert vm.state == "Running" and vm.removed is None and vm.host_id is not None
    assert vm.instance_name == f"i-{vm.account_id}-{vm.id}-VM" and vm.power_state == "PowerOn"
    sim = simulators.host(await host_ip(api, vm.host_id))
    assert await sim.state(vm.instance_name) == PowerState.RUNNING
    assert await used(api, vm.host_id, CPU) == 500
    assert await used(api, vm.host_id, MEMORY) == 512 * MIB


async def test_deploy_runs_with_nic_volume_capacity_counts_and_events(api: Api) -> None:
    ref, user = await refs(api), api.user
    before = await counts(api, user.account_id)
    pool = api.seed.infrastructure.storage_pool_id
    allocated_before = await used(api, pool, STORAGE_ALLOCATED)
    result = await deployed(api, user, ref, name="web-1", displayname="Web one")
    assert result["jobstatus"] == 1, result
    assert result["cmd"].endswith(".user.vm.DeployVMCmd")
    shown = result["jobresult"]["virtualmachine"]
    assert shown["id"] == result["vm_uuid"] and shown["state"] == "Running"
    assert (shown["name"], shown["displayname"]) == ("web-1", "Web one")
    listed = await api.signed("listVirtualMachines", user, id=shown["id"])
    assert listed.inner("listvirtualmachinesresponse")["virtualmachine"][0] == shown
    vm = await vm_by_uuid(api, shown["id"])
    await _check_placement(api, vm)
    await _check_nic(api, vm)
    [root] = await rows(api, select(volumes).where(volumes.c.instance_id == vm.id))
    assert (root.name, root.volume_type, root.state) == (f"ROOT-{vm.id}", "ROOT", "Ready")
    assert root.size == ref.template_size and root.pool_id == pool
    assert await used(api, pool, STORAGE_ALLOCATED) == allocated_before + root.size
    after = await counts(api, user.account_id)
    for kind, added in (("user_vm", 1), ("cpu", 1), ("memory", 512), ("volume", 1)):
        assert after[kind] == before[kind] + added, kind
    assert after["primary_storage"] == before["primary_storage"] + root.size
    await _check_events_and_usage(api, vm, root)
    await check_books(api)


async def test_startvm_false_allocates_but_leaves_the_vm_stopped(api: Api) -> None:
    ref = await refs(api)
    result = await deployed(api, api.user, ref, startvm="false")
    assert result["jobstatus"] == 1, result
    shown = result["jobresult"]["virtualmachine"]
    assert shown["state"] == "Stopped" and shown["nic"][0]["ipaddress"]
    vm = await vm_by_uuid(api, shown["id"])
    assert vm.host_id is None and vm.state == "Stopped"
    assert len(await rows(api, select(volumes).where(volumes.c.instance_id == vm.id))) == 1
    usage = await rows(api, select(usage_event.c.type).order_by(usage_event.c.id))
    assert [u.type for u in usage] == ["VM.CREATE", "VOLUME.CREATE"]
    await check_books(api)
    start = await api.signed("startVirtualMachine", api.user, id=shown["id"])
    started = await wait_job(api, start.inner("startvirtualmachineresponse")["jobid"], api.user)
    assert started["jobresult"]["virtualmachine"]["state"] == "Running"
    await check_books(api)


async def _keypair(api: Api, name: str, key: str) -> None:
    user = api.user
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(ssh_keypairs).values(
                uuid=new_uuid(),
                account_id=user.account_id,
                domain_id=user.domain_id,
                keypair_name=name,
                fingerprint="aa:bb",
                public_key=key,
            )
        )


async def _check_stored_extras(api: Api, vm: Any, user_data: str) -> None:
    details = {
        d.name: d.value
        for d in await rows(api, select(user_vm_details).where(user_vm_details.c.vm_id == vm.id))
    }
    assert details["SSH.PublicKey"] == "ssh-ed25519 AAAAC3Nza laptop"
    assert details["SSH.KeyPairNames"] == "laptop" and details["rootdisksize"] == "30"
    [stored] = await rows(api, select(user_vm.c.user_data).where(user_vm.c.id == vm.id))
    assert stored.user_data == user_data
    groups = await rows(
        api,
        select(instance_group.c.name)
        .join(instance_group_vm_map, instance_group_vm_map.c.group_id == instance_group.c.id)
        .where(instance_group_vm_map.c.instance_id == vm.id),
    )
    assert [g.name for g in groups] == ["databases"]


async def test_address_data_disk_keypair_user_data_group_and_root_size(api: Api) -> None:
    ref = await refs(api)
    await _keypair(api, "laptop", "ssh-ed25519 AAAAC3Nza laptop")
    user_data = base64.b64encode(b"#cloud-config\nhostname: db\n").decode()
    result = await deployed(
        api,
        api.user,
        ref,
        networkids=ref.network,
        ipaddress="10.1.0.77",
        diskofferingid=ref.fixed_disk,
        keypair="laptop",
        userdata=user_data,
        group="databases",
        **{"details[0].rootdisksize": "30"},
    )
    assert result["jobstatus"] == 1, result
    shown = result["jobresult"]["virtualmachine"]
    assert shown["ipaddress"] == "10.1.0.77" and shown["keypairs"] == "laptop"
    assert shown["group"] == "databases"
    assert shown["name"] == f"VM-{shown['id']}"
    vm = await vm_by_uuid(api, shown["id"])
    found = await rows(
        api, select(volumes).where(volumes.c.instance_id == vm.id).order_by(volumes.c.device_id)
    )
    assert [(v.name, v.volume_type, v.device_id, v.size) for v in found] == [
        (f"ROOT-{vm.id}", "ROOT", 0, 30 * GIB),
        (f"DATA-{vm.id}", "DATADISK", 1, 20 * GIB),
    ]
    await _check_stored_extras(api, vm, user_data)
    counted = await counts(api, api.user.account_id)
    assert counted["volume"] == 2 and counted["primary_storage"] == 50 * GIB
    await check_books(api)


async def test_custom_disk_size_and_admin_deploying_for_a_user(api: Api) -> None:
    ref = await refs(api)
    user = api.user
    result = await deployed(
        api,
        api.admin,
        ref,
        diskofferingid=ref.custom_disk,
        size="5",
        account=user.account_name,
        domainid=user.domain_uuid,
        hostid=await host_uuid(api, 0),
    )
    assert result["jobstatus"] == 1, result
    assert result["cmd"].endswith(".admin.vm.DeployVMCmdByAdmin")
    shown = result["jobresult"]["virtualmachine"]
    assert shown["account"] == user.account_name and shown["hostid"]
    vm = await vm_by_uuid(api, shown["id"])
    assert vm.account_id == user.account_id and vm.user_id == api.admin.user_id
    assert vm.host_id == api.seed.infrastructure.host_ids[0]
    data = await rows(
        api, select(volumes.c.size).where(volumes.c.instance_id == vm.id, volumes.c.device_id == 1)
    )
    assert data[0].size == 5 * GIB
    await check_books(api)


async def _custom_offering(api: Api) -> str:
    """A dynamic compute offering: CPU count, speed and memory chosen at deploy time."""
    uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        disk = await conn.execute(
            insert(disk_offering).values(
                name="Custom VM", uuid=new_uuid(), display_text="Custom", disk_size=0,
                customized=True, created=utc_now(), state="Active", provisioning_type="thin",
                compute_only=True,
            )
        )  # fmt: skip
        assert disk.inserted_primary_key is not None
        await conn.execute(
            insert(service_offering).values(
                uuid=uuid, name="Custom VM", display_text="Custom", created=utc_now(),
                state="Active", customized=True, disk_offering_id=disk.inserted_primary_key[0],
            )
        )  # fmt: skip
    return uuid


async def test_custom_offering_takes_its_sizes_from_details(api: Api) -> None:
    ref, user = await refs(api), api.user
    custom = await _custom_offering(api)
    refused = await deploy(api, user, ref, serviceofferingid=custom)
    assert refused.error("deployvirtualmachineresponse")[:2] == (431, 4350)
    sizes = {"cpuNumber": "2", "cpuSpeed": "1000", "memory": "1024"}
    result = await deployed(
        api, user, ref, serviceofferingid=custom, **{f"details[0].{k}": v for k, v in sizes.items()}
    )
    assert result["jobstatus"] == 1, result
    shown = result["jobresult"]["virtualmachine"]
    assert (shown["cpunumber"], shown["cpuspeed"], shown["memory"]) == (2, 1000, 1024)
    vm = await vm_by_uuid(api, shown["id"])
    assert await used(api, vm.host_id, CPU) == 2000
    assert await used(api, vm.host_id, MEMORY) == 1024 * MIB
    created = await rows(
        api,
        select(usage_event_details.c.name, usage_event_details.c.value)
        .join(usage_event, usage_event.c.id == usage_event_details.c.usage_event_id)
        .where(usage_event.c.type == "VM.CREATE"),
    )
    assert dict(tuple(row) for row in created) == sizes
    await check_books(api)
