"""listVirtualMachines against the live server on both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update

from schema_bridge import jobs
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import resource_tags, vm_instance
from schema_bridge.vm_rows import InsertedVm, VmRequest, insert_vms
from tests.compat_api.commands.conformance import (
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api

CMD = "listVirtualMachines"
ROOT = "listvirtualmachinesresponse"
ADMIN_ONLY = ("hostid", "hostname", "instancename", "displayvm")


def _request(api: Api, **extra: Any) -> VmRequest:
    seed = api.seed
    return VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        **extra,
    )


async def _vms(api: Api, who: Credentials, count: int, **extra: Any) -> list[InsertedVm]:
    return await insert_vms(api.db, count, who, _request(api, **extra))


async def _cloud(api: Api) -> dict[str, list[InsertedVm]]:
    """Three VMs for the user (one Stopped), two for the domain admin, one for admin."""
    return {
        "user": await _vms(api, api.user, 3, states=("Running", "Running", "Stopped")),
        "domain_admin": await _vms(api, api.domain_admin, 2, name_prefix="dadm"),
        "admin": await _vms(api, api.admin, 1, name_prefix="root"),
    }


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_fields_order_types_and_nested_nic(api: Api) -> None:
    cloud = await _cloud(api)
    total, items = await listed(api, CMD, api.admin, listall="true")
    assert total == 6
    check_items(CMD, items)
    first, vm = items[0], cloud["user"][0]
    assert (first["id"], first["name"], first["state"]) == (vm.uuid, vm.name, "Running")
    assert first["instancename"] == vm.instance_name and first["hostcontrolstate"] == "Enabled"
    assert (first["cpunumber"], first["cpuspeed"], first["memory"]) == (1, 500, 512)
    assert first["account"] == "alice" and first["domainpath"] == "ROOT/Customers"
    assert first["templatename"] == "Ubuntu 22.04 LTS (Simulator)"
    assert first["serviceofferingname"] == "Small VM" and first["zonename"] == "demo-zone-1"
    assert first["ipaddress"] == vm.ip_address and first["tags"] == []
    assert first["securitygroup"] == [] and first["affinitygroup"] == []
    [nic] = first["nic"]
    assert (nic["ipaddress"], nic["macaddress"]) == (vm.ip_address, vm.mac_address)
    assert nic["networkid"] == api.seed.networking.guest_network_uuid
    assert (nic["networkname"], nic["isdefault"], nic["traffictype"], nic["type"]) == (
        "demo-shared-1", True, "Guest", "Shared",
    )  # fmt: skip
    assert nic["deviceid"] == "0" and nic["secondaryip"] == []
    stopped = items[2]
    assert stopped["state"] == "Stopped" and "hostid" not in stopped
    assert "hostcontrolstate" not in stopped


async def test_user_view_hides_admin_fields_and_denied_details(api: Api) -> None:
    await _cloud(api)
    for who in (api.user, api.domain_admin):
        _, items = await listed(api, CMD, who)
        check_items(CMD, items)
        for item in items:
            assert not set(ADMIN_ONLY) & set(item), item
            assert item["details"] == {}
            assert item["readonlydetails"] == "dataDiskController, rootDiskController"
    _, items = await listed(api, CMD, api.admin, listall="true")
    assert all(set(ADMIN_ONLY) <= set(item) for item in items if item["state"] == "Running")
    assert items[0]["details"] == {"cpuOvercommitRatio": "4.0", "memoryOvercommitRatio": "1.0"}


async def test_scoping(api: Api) -> None:
    cloud = await _cloud(api)
    uuids = {who: [vm.uuid for vm in vms] for who, vms in cloud.items()}
    for params in ({}, {"listall": "true"}):
        _, items = await listed(api, CMD, api.user, **params)
        assert _ids(items) == uuids["user"]
    _, items = await listed(api, CMD, api.domain_admin)
    assert _ids(items) == uuids["domain_admin"]
    _, items = await listed(api, CMD, api.domain_admin, listall="true")
    assert _ids(items) == uuids["user"] + uuids["domain_admin"]
    _, items = await listed(api, CMD, api.admin)
    assert _ids(items) == uuids["admin"]
    _, items = await listed(api, CMD, api.admin, listall="true")
    assert _ids(items) == uuids["user"] + uuids["domain_admin"] + uuids["admin"]
    _, items = await listed(api, CMD, api.admin, account="alice", domainid=api.user.domain_uuid)
    assert _ids(items) == uuids["user"]
    # Another account's VM by id: nothing for the user, found for its domain admin.
    assert (await listed(api, CMD, api.user, id=uuids["admin"][0]))[0] == 0
    assert (await listed(api, CMD, api.domain_admin, id=uuids["user"][0]))[0] == 1
    denied = await api.signed(CMD, api.user, domainid=api.admin.domain_uuid)
    assert denied.error(ROOT) == (
        531,
        4365,
        f"Account alice does not have permission to operate within domain id={api.admin.domain_id}",
    )


async def test_filters(api: Api) -> None:
    cloud = await _cloud(api)
    user_vms, seed = cloud["user"], api.seed
    ids = ",".join(vm.uuid for vm in user_vms[:2])
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"id": user_vms[1].uuid}, [user_vms[1].uuid]),
        ({"ids": ids}, [vm.uuid for vm in user_vms[:2]]),
        ({"name": user_vms[2].name}, [user_vms[2].uuid]),
        ({"keyword": "dadm"}, [vm.uuid for vm in cloud["domain_admin"]]),
        ({"state": "stopped"}, [user_vms[2].uuid]),
        ({"state": "Running", "keyword": "vm-"}, [vm.uuid for vm in user_vms[:2]]),
        ({"zoneid": seed.infrastructure.zone_uuid}, [vm.uuid for vms in cloud.values() for vm in vms]),
        ({"networkid": seed.networking.guest_network_uuid, "name": "nope"}, []),
    ]  # fmt: skip
    for params, expected in cases:
        _, items = await listed(api, CMD, api.admin, listall="true", **params)
        assert _ids(items) == expected, params
    host_vm = user_vms[0]
    _, items = await listed(
        api, CMD, api.admin, listall="true", hostid=await _host_uuid(api, host_vm)
    )
    assert host_vm.uuid in _ids(items) and user_vms[2].uuid not in _ids(items)


async def _host_uuid(api: Api, vm: InsertedVm) -> str:
    _, items = await listed(api, CMD, api.admin, listall="true", id=vm.uuid)
    return str(items[0]["hostid"])


async def test_details_groups(api: Api) -> None:
    await _vms(api, api.user, 1)
    _, [minimal] = await listed(api, CMD, api.user, details="min")
    check_items(CMD, [minimal])
    assert minimal["nic"] == [] and "templateid" not in minimal and "cpunumber" not in minimal
    assert minimal["tags"] == [] and minimal["securitygroup"] == []
    _, [nics] = await listed(api, CMD, api.user, details="nics,tmpl")
    assert len(nics["nic"]) == 1 and "templateid" in nics and "serviceofferingid" not in nics
    bad = await api.signed(CMD, api.user, details="everything")
    assert bad.error(ROOT) == (
        431,
        4350,
        "The details parameter contains a non permitted value. The allowed values are [all, "
        "group, nics, stats, secgrp, tmpl, servoff, diskoff, backoff, iso, volume, min, affgrp]",
    )


async def test_count_is_the_total_with_the_500_cap(api: Api) -> None:
    await _vms(api, api.user, 502)
    reply = await api.signed(CMD, api.user, details="min")
    inner = reply.inner(ROOT)
    assert inner["count"] == 502 and len(inner["virtualmachine"]) == 500
    total, items = await listed(api, CMD, api.user, page=2, pagesize=500, details="min")
    assert total == 502 and len(items) == 2
    total, items = await listed(api, CMD, api.user, pagesize=-1, details="min")
    assert total == 502 and len(items) == 502


async def test_paging_and_bad_input(api: Api) -> None:
    await _cloud(api)
    await check_paging(api, CMD, api.user)
    await check_paging(api, CMD, api.admin, listall="true")
    await check_bad_input(api, CMD, api.user)
    empty = await api.signed(CMD, api.user, keyword="no-such-vm")
    assert empty.status == 200 and empty.inner(ROOT) == {}


async def test_tags_pending_job_and_xml(api: Api) -> None:
    [vm] = await _vms(api, api.user, 1)
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(resource_tags).values(
                uuid="1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", key="env", value="prod",
                resource_id=vm.id, resource_uuid=vm.uuid, resource_type="UserVm",
                domain_id=api.user.domain_id, account_id=api.user.account_id,
            )
        )  # fmt: skip
        await conn.execute(
            update(vm_instance).where(vm_instance.c.id == vm.id).values(ha_enabled=True)
        )
    info = jobs.cmd_info({}, user_id=api.user.user_id, account_id=api.user.account_id,
                         entity_uuid=vm.uuid, http_method="GET")  # fmt: skip
    job = jobs.NewJob(
        uuid="3d4e5f60-7182-4394-a5b6-c7d8e9f0a1b2", user_id=api.user.user_id,
        account_id=api.user.account_id, cmd="org.apache.cloudstack.api.command.user.vm.StopVMCmd",
        cmd_info=info, msid=None, instance_type="VirtualMachine", instance_id=vm.id,
    )  # fmt: skip
    async with api.db.engine.begin() as conn:
        await jobs.insert_job(conn, job)
    _, [item] = await listed(api, CMD, api.user)
    check_items(CMD, [item])
    assert item["haenable"] is True
    assert list(item)[-2:] == ["jobid", "jobstatus"] and item["jobstatus"] == 0
    assert item["tags"] == [
        {
            "key": "env", "value": "prod", "resourcetype": "UserVm", "resourceid": vm.uuid,
            "account": "alice", "domainid": api.user.domain_uuid, "domain": "Customers",
            "domainpath": "ROOT/Customers",
        }
    ]  # fmt: skip
    xml = await api.signed(CMD, api.user, fmt="xml")
    assert "<nic><id>" in xml.text and f"<ipaddress>{vm.ip_address}</ipaddress>" in xml.text
    assert "<details>{}</details>" in xml.text and "<securitygroup>" not in xml.text
