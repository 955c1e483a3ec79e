"""Lists the web UI calls in its views, wizard and 4.21 dashboard: listConfigurations,
listResourceIcon, listUserData, listRouters, listSystemVms and listDetailOptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from schema_bridge.dialect import utc_now
from schema_bridge.ids import VM_INSTANCE_SEQ, allocate, new_uuid
from schema_bridge.seed_identity import Credentials
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    cluster,
    cluster_details,
    configuration,
    configuration_group,
    configuration_subgroup,
    domain_details,
    table,
    user_data,
    vm_instance,
)
from tests.compat_api.commands.conformance import (
    check_admin_only,
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api

# listConfigurations


async def _add_setting(api: Api, name: str, value: str, **columns: Any) -> None:
    row = {
        "category": "Advanced",
        "instance": "DEFAULT",
        "component": "test",
        "name": name,
        "value": value,
        "default_value": value,
        "is_dynamic": 1,
        **columns,
    }
    async with api.db.engine.begin() as conn:
        await conn.execute(insert(configuration).values(**row))


async def test_configurations_by_name_with_their_fields(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        group = await conn.scalar(select(configuration_group.c.id).limit(1))
        if group is None:
            await conn.execute(
                insert(configuration_group).values(id=1, name="Miscellaneous", precedence=999)
            )
            group = 1
        subgroup = await conn.scalar(
            select(configuration_subgroup.c.id).where(configuration_subgroup.c.group_id == group)
        )
        if subgroup is None:
            await conn.execute(
                insert(configuration_subgroup).values(
                    id=1, name="Others", precedence=999, group_id=group
                )
            )
            subgroup = 1
        group_name = await conn.scalar(
            select(configuration_group.c.name).where(configuration_group.c.id == group)
        )
    await _add_setting(
        api,
        "vmware-to-kvm-mac-addresses",
        "true",
        description="Keep MAC addresses",
        group_id=group,
        subgroup_id=subgroup,
        display_text="Keep MACs",
        kind="Boolean",
    )
    total, items = await listed(
        api, "listConfigurations", api.admin, name="vmware-to-kvm-mac-addresses"
    )
    assert total == 1
    check_items("listConfigurations", items)
    item = items[0]
    assert item["name"] == "vmware-to-kvm-mac-addresses"
    assert (item["value"], item["defaultvalue"], item["isdynamic"]) == ("true", "true", True)
    assert (item["category"], item["group"], item["type"]) == ("Advanced", group_name, "Boolean")
    assert "scope" not in item
    total, items = await listed(api, "listConfigurations", api.admin, group=group_name)
    assert any(i["name"] == "vmware-to-kvm-mac-addresses" for i in items)


async def test_configurations_sorted_paged_and_filtered(api: Api) -> None:
    total, items = await listed(api, "listConfigurations", api.admin)
    names = [i["name"] for i in items]
    assert total == len(items) and names == sorted(names) and total >= 20
    count, page = await listed(api, "listConfigurations", api.admin, page=2, pagesize=3)
    assert count == total and [i["name"] for i in page] == names[3:6]
    total, items = await listed(api, "listConfigurations", api.admin, name="overprovisioning")
    assert {i["name"] for i in items} == {
        "cpu.overprovisioning.factor",
        "mem.overprovisioning.factor",
        "storage.overprovisioning.factor",
    }
    total, items = await listed(api, "listConfigurations", api.admin, category="Network")
    assert total >= 3 and {i["category"] for i in items} == {"Network"}
    total, items = await listed(api, "listConfigurations", api.admin, keyword="cloud.internal")
    assert [i["name"] for i in items] == ["guest.domain.suffix"]
    total, _ = await listed(api, "listConfigurations", api.admin, name="no.such.setting")
    assert total == 0


async def test_configurations_never_show_hidden_or_plain_secure_values(api: Api) -> None:
    total, items = await listed(api, "listConfigurations", api.admin, name="instance.name")
    assert total == 0
    total, items = await listed(api, "listConfigurations", api.admin, category="Hidden")
    assert total == 0
    await _add_setting(api, "test.secure.password", "stored-ciphertext", category="Secure")
    total, items = await listed(api, "listConfigurations", api.admin, name="test.secure.password")
    assert total == 1 and items[0]["value"] == "stored-ciphertext"
    # A keyword never matches a Secure value: that would reveal it a letter at a time.
    total, _ = await listed(api, "listConfigurations", api.admin, keyword="stored-cipher")
    assert total == 0


async def test_configurations_of_one_cluster(api: Api) -> None:
    infra = api.seed.infrastructure
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(cluster_details).values(
                cluster_id=infra.cluster_id, name="cpu.overprovisioning.factor", value="8.0"
            )
        )
        cluster_uuid = await conn.scalar(
            select(cluster.c.uuid).where(cluster.c.id == infra.cluster_id)
        )
    _, items = await listed(api, "listConfigurations", api.admin, clusterid=cluster_uuid)
    values = {i["name"]: i["value"] for i in items}
    assert values["cpu.overprovisioning.factor"] == "8.0"
    assert values["mem.overprovisioning.factor"] == "1.0"
    assert {i["scope"] for i in items} == {"cluster"}
    check_items("listConfigurations", items)


async def test_configurations_of_a_domain_admin_are_its_domain_s(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(domain_details).values(
                domain_id=api.domain_admin.domain_id, name="api.key.access", value="false"
            )
        )
    total, items = await listed(api, "listConfigurations", api.domain_admin)
    assert total == len(items) >= 1
    assert {i["scope"] for i in items} == {"domain"}
    assert {i["name"]: i["value"] for i in items}["api.key.access"] == "false"
    total, items = await listed(api, "listConfigurations", api.admin, name="api.key.access")
    assert [i["value"] for i in items] == ["true"]
    reply = await api.signed("listConfigurations", api.domain_admin, domainid=api.admin.domain_uuid)
    assert reply.error("listconfigurationsresponse")[:2] == (531, 4365)


async def test_configurations_refusals(api: Api) -> None:
    await check_admin_only(api, "listConfigurations", api.user)
    reply = await api.signed("listConfigurations", api.admin, group="No Such Group")
    assert reply.error("listconfigurationsresponse") == (
        431,
        4350,
        "Invalid configuration group: No Such Group",
    )
    reply = await api.signed(
        "listConfigurations",
        api.admin,
        zoneid=api.seed.infrastructure.zone_uuid,
        accountid=api.user.account_uuid,
    )
    assert reply.error("listconfigurationsresponse") == (
        431,
        4350,
        "cannot handle multiple IDs, provide only one ID corresponding to the scope",
    )
    reply = await api.signed("listConfigurations", api.admin, page="x")
    assert reply.error("listconfigurationsresponse") == (
        431,
        9999,
        "Unable to execute API command listconfigurations due to invalid value x for "
        "parameter page",
    )


# listResourceIcon

resource_icon = table("resource_icon")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


async def _add_icon(api: Api, kind: str, resource_id: int, resource_uuid: str, **more: Any) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(resource_icon).values(
                uuid=new_uuid(),
                icon=PNG.encode(),
                resource_id=resource_id,
                resource_uuid=resource_uuid,
                resource_type=kind,
                created=utc_now(),
                **more,
            )
        )


async def test_resource_icons_of_the_named_resources(api: Api) -> None:
    infra = api.seed.infrastructure
    await _add_icon(api, "Zone", infra.zone_id, infra.zone_uuid)
    await _add_icon(api, "Domain", api.user.domain_id, api.user.domain_uuid)
    await _add_icon(api, "Domain", 1, api.admin.domain_uuid, removed=utc_now())
    for who in (api.admin, api.domain_admin, api.user):
        reply = await api.signed(
            "listResourceIcon", who, resourceids=infra.zone_uuid, resourcetype="zone"
        )
        assert reply.json == {
            "listresourceiconresponse": {
                "count": 1,
                "icon": [
                    {"resourcetype": "Zone", "resourceid": infra.zone_uuid, "base64image": PNG}
                ],
            }
        }
    both = f"{api.user.domain_uuid},{api.admin.domain_uuid}"
    total, items = await listed(
        api, "listResourceIcon", api.user, resourceids=both, resourcetype="Domain"
    )
    assert total == 1 and items[0]["resourceid"] == api.user.domain_uuid
    check_items("listResourceIcon", items)
    reply = await api.signed(
        "listResourceIcon", api.user, resourceids=infra.zone_uuid, resourcetype="UserVm"
    )
    assert reply.json == {"listresourceiconresponse": {}}


async def test_resource_icon_refusals(api: Api) -> None:
    reply = await api.signed("listResourceIcon", api.user, resourceids="x", resourcetype="Nope")
    assert reply.error("listresourceiconresponse") == (
        431,
        4350,
        "Invalid resource type: Nope",
    )
    reply = await api.signed("listResourceIcon", api.user, resourcetype="Zone")
    assert reply.error("listresourceiconresponse") == (
        431,
        9999,
        "Unable to execute API command listresourceicon due to missing parameter resourceids",
    )


# listUserData


async def _add_user_data(api: Api, name: str, owner: Credentials, **more: Any) -> str:
    uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        await conn.execute(
            insert(user_data).values(
                uuid=uuid,
                name=name,
                account_id=owner.account_id,
                domain_id=owner.domain_id,
                user_data="I2Nsb3VkLWNvbmZpZwo=",
                params="hostname",
                **more,
            )
        )
    return uuid


async def test_user_data_scoped_to_the_caller(api: Api) -> None:
    mine = await _add_user_data(api, "user-init", api.user)
    await _add_user_data(api, "user-other", api.user)
    await _add_user_data(api, "admin-init", api.admin)
    await _add_user_data(api, "gone", api.user, removed=utc_now())
    total, items = await listed(api, "listUserData", api.user)
    assert total == 2
    assert [i["name"] for i in items] == ["user-other", "user-init"]
    check_items("listUserData", items)
    first = items[1]
    assert first["id"] == mine
    assert (first["account"], first["domainid"]) == (api.user.account_name, api.user.domain_uuid)
    assert (first["userdata"], first["params"], first["hasannotations"]) == (
        "I2Nsb3VkLWNvbmZpZwo=",
        "hostname",
        False,
    )
    assert first["domainpath"] == api.user.domain_path
    _, items = await listed(api, "listUserData", api.admin, listall="true")
    assert {i["name"] for i in items} == {"user-init", "user-other", "admin-init"}
    _, items = await listed(api, "listUserData", api.admin)
    assert [i["name"] for i in items] == ["admin-init"]
    _, items = await listed(api, "listUserData", api.domain_admin, listall="true")
    assert {i["name"] for i in items} == {"user-init", "user-other"}
    _, items = await listed(api, "listUserData", api.admin, listall="true", id=mine)
    assert [i["name"] for i in items] == ["user-init"]
    _, items = await listed(api, "listUserData", api.user, keyword="other")
    assert [i["name"] for i in items] == ["user-other"]
    _, items = await listed(api, "listUserData", api.user, name="user-init")
    assert [i["id"] for i in items] == [mine]
    await check_paging(api, "listUserData", api.user)


async def test_user_data_refusals(api: Api) -> None:
    await check_bad_input(api, "listUserData", api.user)
    reply = await api.signed("listUserData", api.user, domainid=api.admin.domain_uuid)
    assert reply.status == 531
    assert reply.error("listuserdataresponse")[1] == 4365


# listRouters and listSystemVms


async def _add_system_vm(
    api: Api, name: str, kind: str, owner: Credentials | None = None, **more: Any
) -> str:
    """A system VM row (router, console proxy or storage VM) on the first seeded host."""
    infra = api.seed.infrastructure
    async with api.db.engine.begin() as conn:
        vm_id = await allocate(conn, VM_INSTANCE_SEQ)
        uuid = new_uuid()
        await insert_row(
            conn,
            vm_instance,
            id=vm_id,
            name=name,
            uuid=uuid,
            instance_name=name,
            host_name=name,
            state="Running",
            guest_os_id=1,
            data_center_id=infra.zone_id,
            pod_id=infra.pod_id,
            host_id=infra.host_ids[0],
            vnc_password="x",
            created=utc_now(),
            type=kind,
            vm_type=kind,
            hypervisor_type="Simulator",
            account_id=owner.account_id if owner else 1,
            domain_id=owner.domain_id if owner else 1,
            service_offering_id=api.seed.catalog.small_offering_id,
        )
        await conn.execute(insert(table(more.pop("table"))).values(id=vm_id, **more))
    return uuid


async def _add_router(api: Api, name: str, owner: Credentials, **more: Any) -> str:
    row = {
        "element_id": 1,
        "is_redundant_router": 0,
        "redundant_state": "UNKNOWN",
        "stop_pending": 0,
        "role": "VIRTUAL_ROUTER",
        "public_ip_address": "203.0.113.5",
        "guest_ip_address": "10.1.1.1",
        "template_version": "Cloudstack Release 4.20.0 Mon Jan 1",
        "scripts_version": "abc",
        **more,
    }
    return await _add_system_vm(api, name, "DomainRouter", owner, table="domain_router", **row)


async def test_routers_scoped_to_the_caller(api: Api) -> None:
    mine = await _add_router(api, "r-10-VM", api.user)
    await _add_router(api, "r-11-VM", api.admin, template_version=None)
    await _add_router(api, "r-12-VM", api.user, role="INTERNAL_LB_VM")
    total, items = await listed(api, "listRouters", api.admin, listall="true")
    assert [i["name"] for i in items] == ["r-10-VM", "r-11-VM"]
    check_items("listRouters", items)
    first, second = items
    assert first["id"] == mine and first["account"] == api.user.account_name
    assert (first["version"], first["requiresupgrade"], first["role"]) == (
        "4.20.0",
        False,
        "VIRTUAL_ROUTER",
    )
    assert (second["version"], second["requiresupgrade"]) == ("UNKNOWN", True)
    assert first["publicip"] == "203.0.113.5" and first["hostcontrolstate"]
    assert first["zoneid"] == api.seed.infrastructure.zone_uuid
    total, items = await listed(api, "listRouters", api.domain_admin, listall="true")
    assert [i["name"] for i in items] == ["r-10-VM"]
    assert "hostid" not in items[0] and "publicip" not in items[0]
    zone = api.seed.infrastructure.zone_uuid
    total, _ = await listed(
        api, "listRouters", api.admin, zoneid=zone, listall="true", projectid="-1"
    )
    assert total == 0
    total, items = await listed(api, "listRouters", api.admin, listall="true", keyword="r-11")
    assert [i["name"] for i in items] == ["r-11-VM"]
    total, _ = await listed(api, "listRouters", api.admin, listall="true", forvpc="true")
    assert total == 0
    await check_paging(api, "listRouters", api.admin, listall="true")


async def test_routers_refusals(api: Api) -> None:
    await check_admin_only(api, "listRouters", api.user)
    await check_bad_input(api, "listRouters", api.admin)


async def test_system_vms_of_the_zone(api: Api) -> None:
    infra = api.seed.infrastructure
    proxy = await _add_system_vm(
        api,
        "v-1-VM",
        "ConsoleProxy",
        table="console_proxy",
        public_ip_address="203.0.113.9",
        active_session=2,
    )
    await _add_system_vm(
        api, "s-2-VM", "SecondaryStorageVm", table="secondary_storage_vm", role="templateProcessor"
    )
    await _add_router(api, "r-13-VM", api.user)
    total, items = await listed(api, "listSystemVms", api.admin, zoneid=infra.zone_uuid)
    assert total == 2 and [i["name"] for i in items] == ["v-1-VM", "s-2-VM"]
    check_items("listSystemVms", items)
    first = items[0]
    assert first["id"] == proxy and first["systemvmtype"] == "consoleproxy"
    assert (first["publicip"], first["activeviewersessions"]) == ("203.0.113.9", 2)
    assert first["zoneid"] == infra.zone_uuid and first["hostcontrolstate"]
    assert first["isdynamicallyscalable"] is False
    _, items = await listed(api, "listSystemVms", api.admin, systemvmtype="secondarystoragevm")
    assert [i["name"] for i in items] == ["s-2-VM"]
    _, items = await listed(api, "listSystemVms", api.admin, id=proxy)
    assert [i["name"] for i in items] == ["v-1-VM"]
    _, items = await listed(api, "listSystemVms", api.admin, keyword="s-2")
    assert [i["name"] for i in items] == ["s-2-VM"]
    _, items = await listed(api, "listSystemVms", api.admin, state="Stopped")
    assert items == []
    await check_paging(api, "listSystemVms", api.admin)


async def test_system_vms_refusals(api: Api) -> None:
    await check_admin_only(api, "listSystemVms", api.user)
    await check_admin_only(api, "listSystemVms", api.domain_admin)
    await check_bad_input(api, "listSystemVms", api.admin)


# listDetailOptions


async def _vm_uuid(api: Api, hypervisor: str) -> str:
    return await _add_system_vm(
        api,
        f"d-{hypervisor}",
        "DomainRouter",
        table="domain_router",
        element_id=1,
        is_redundant_router=0,
        redundant_state="UNKNOWN",
        stop_pending=0,
        role="INTERNAL_LB_VM",
    )


async def test_detail_options_for_vms(api: Api) -> None:
    reply = await api.signed("listDetailOptions", api.admin, resourcetype="UserVm")
    details = reply.inner("listdetailoptionsresponse")["detailoptions"]["details"]
    assert details["UEFI"] == ["LEGACY", "SECURE"]
    assert details["keyboard"] == ["uk", "us", "jp", "fr"]
    assert set(details) == {"UEFI", "keyboard", "cpu.corespersocket", "rootdisksize"}
    reply = await api.signed("listDetailOptions", api.user, resourcetype="uservm")
    details = reply.inner("listdetailoptionsresponse")["detailoptions"]["details"]
    assert "rootdisksize" not in details and "UEFI" in details
    vm = await _vm_uuid(api, "kvm")
    async with api.db.engine.begin() as conn:
        await conn.execute(
            vm_instance.update().where(vm_instance.c.uuid == vm).values(hypervisor_type="KVM")
        )
    reply = await api.signed("listDetailOptions", api.admin, resourcetype="UserVm", resourceid=vm)
    details = reply.inner("listdetailoptionsresponse")["detailoptions"]["details"]
    assert details["rootDiskController"] == ["osdefault", "ide", "scsi", "virtio", "virtio-blk"]
    assert details["iothreads"] == ["enabled"] and "svga.vramSize" not in details
    reply = await api.signed("listDetailOptions", api.user, resourcetype="VnfTemplate")
    details = reply.inner("listdetailoptionsresponse")["detailoptions"]["details"]
    assert details["access_methods"] == ["console", "http", "https", "ssh-key", "ssh-password"]
    assert len(details) == 15


async def test_detail_options_refusals(api: Api) -> None:
    reply = await api.signed("listDetailOptions", api.user, resourcetype="Nope")
    assert reply.error("listdetailoptionsresponse") == (431, 4350, "Invalid resource type: Nope")
    reply = await api.signed("listDetailOptions", api.admin, resourcetype="Zone")
    assert reply.error("listdetailoptionsresponse") == (530, 4250, "Resource type not supported.")
    reply = await api.signed("listDetailOptions", api.user, resourcetype="Zone")
    assert reply.error("listdetailoptionsresponse") == (
        530,
        4250,
        "Internal error executing command, please contact your system administrator",
    )
    reply = await api.signed("listDetailOptions", api.user)
    assert reply.error("listdetailoptionsresponse") == (
        431,
        9999,
        "Unable to execute API command listdetailoptions due to missing parameter resourcetype",
    )
