"""The lists the web UI asks for at login, on the dashboard and in the deploy wizard:
listLdapConfigurations, cloudianIsEnabled, listCapacity, listHypervisors,
listInstanceGroups, listAffinityGroups, listVPCs and listVirtualMachinesMetrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    affinity_group,
    affinity_group_vm_map,
    configuration,
    instance_group,
    op_host_capacity,
    table,
    vm_instance,
    vpc,
)
from schema_bridge.vm_rows import VmRequest, insert_vms
from tests.compat_api.commands.conformance import (
    UNKNOWN,
    check_admin_only,
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api


async def _set_config(api: Api, name: str, value: str) -> None:
    async with api.db.engine.begin() as conn:
        found = await conn.scalar(select(configuration.c.name).where(configuration.c.name == name))
        if found is None:
            await conn.execute(
                insert(configuration).values(
                    category="Advanced",
                    instance="DEFAULT",
                    component="test",
                    name=name,
                    value=value,
                )
            )
        else:
            await conn.execute(
                update(configuration).where(configuration.c.name == name).values(value=value)
            )


# listLdapConfigurations


async def test_ldap_none_configured_is_an_empty_list(api: Api) -> None:
    for who in (api.admin, api.domain_admin, api.user):
        reply = await api.signed("listLdapConfigurations", who)
        assert reply.status == 200
        assert reply.json == {"ldapconfigurationresponse": {}}


async def test_ldap_global_and_domain_servers(api: Api) -> None:
    ldap = table("ldap_configuration")
    async with api.db.engine.begin() as conn:
        await conn.execute(insert(ldap).values(hostname="ldap.example.org", port=389))
        await conn.execute(
            insert(ldap).values(hostname="ad.example.org", port=636, domain_id=api.user.domain_id)
        )
    total, items = await listed(api, "listLdapConfigurations", api.admin)
    assert total == 1
    assert list(items[0]) == ["id", "hostname", "port"]
    assert (items[0]["hostname"], items[0]["port"]) == ("ldap.example.org", 389)
    total, items = await listed(api, "listLdapConfigurations", api.admin, listall="true")
    assert total == 2 and items[1]["domainid"] == api.user.domain_uuid
    total, items = await listed(
        api, "listLdapConfigurations", api.admin, domainid=api.user.domain_uuid
    )
    assert [i["hostname"] for i in items] == ["ad.example.org"]
    total, _ = await listed(api, "listLdapConfigurations", api.admin, hostname="nope")
    assert total == 0


async def test_ldap_bad_input(api: Api) -> None:
    reply = await api.signed("listLdapConfigurations", api.admin, port="x")
    assert reply.error("ldapconfigurationresponse") == (
        431,
        9999,
        "Unable to execute API command listldapconfigurations due to invalid value x for "
        "parameter port",
    )


# cloudianIsEnabled


async def test_cloudian_disabled_by_default(api: Api) -> None:
    reply = await api.signed("cloudianIsEnabled", api.user)
    assert reply.json == {"cloudianisenabledresponse": {"cloudianisenabled": {"enabled": False}}}


async def test_cloudian_enabled_reports_console_url(api: Api) -> None:
    await _set_config(api, "cloudian.connector.enabled", "true")
    await _set_config(api, "cloudian.cmc.host", "cmc.example.org")
    reply = await api.signed("cloudianIsEnabled", api.admin)
    assert reply.inner("cloudianisenabledresponse")["cloudianisenabled"] == {
        "enabled": True,
        "url": "https://cmc.example.org:8443/Cloudian/",
    }


# listCapacity


async def test_capacity_of_the_zone(api: Api) -> None:
    infra = api.seed.infrastructure
    async with api.db.engine.begin() as conn:
        rows = (
            await conn.execute(
                select(op_host_capacity).where(op_host_capacity.c.capacity_type == 0)
            )
        ).all()
        await conn.execute(
            update(op_host_capacity)
            .where(op_host_capacity.c.capacity_type == 0)
            .values(used_capacity=op_host_capacity.c.total_capacity / 4)
        )
    memory_total = sum(int(r.total_capacity) for r in rows)
    total, items = await listed(
        api, "listCapacity", api.admin, zoneid=infra.zone_uuid, fetchlatest="false"
    )
    check_items("listCapacity", items)
    by_name = {item["name"]: item for item in items}
    assert {"MEMORY", "CPU", "STORAGE", "STORAGE_ALLOCATED", "CPU_CORE"} <= set(by_name)
    memory = by_name["MEMORY"]
    assert memory["type"] == 0 and memory["zoneid"] == infra.zone_uuid
    assert memory["capacitytotal"] == memory_total
    assert memory["capacityused"] == memory_total // 4
    assert memory["percentused"] == "25"
    assert "podid" not in memory
    # CPU totals carry the cpu.overprovisioning.factor (4.0 in the seed).
    async with api.db.engine.connect() as conn:
        cpu_rows = (
            await conn.execute(
                select(op_host_capacity.c.total_capacity).where(
                    op_host_capacity.c.capacity_type == 1
                )
            )
        ).scalars()
        cpu_total = sum(int(v) for v in cpu_rows)
    assert by_name["CPU"]["capacitytotal"] == cpu_total * 4
    assert total == len(items)


async def test_capacity_by_pod_and_type(api: Api) -> None:
    infra = api.seed.infrastructure
    async with api.db.engine.connect() as conn:
        pod_uuid = await conn.scalar(
            select(table("host_pod_ref").c.uuid).where(table("host_pod_ref").c.id == infra.pod_id)
        )
    _, items = await listed(api, "listCapacity", api.admin, podid=pod_uuid, type=0)
    assert len(items) == 1
    assert items[0]["podid"] == pod_uuid and items[0]["name"] == "MEMORY"


async def test_capacity_refusals(api: Api) -> None:
    await check_admin_only(api, "listCapacity", api.user)
    await check_admin_only(api, "listCapacity", api.domain_admin)
    reply = await api.signed("listCapacity", api.admin, zoneid=UNKNOWN)
    assert reply.error("listcapacityresponse") == (
        431,
        9999,
        "Unable to execute API command listcapacity due to invalid value. Invalid parameter "
        f"zoneid value={UNKNOWN} due to incorrect long value format, or entity does not exist "
        "or due to incorrect parameter annotation for the field in api cmd class.",
    )


# listHypervisors


async def test_hypervisors_of_zone(api: Api) -> None:
    zone = api.seed.infrastructure.zone_uuid
    for who in (api.admin, api.user):
        _, items = await listed(api, "listHypervisors", who, zoneid=zone)
        assert items == [{"name": "Simulator"}]
    await _set_config(api, "hypervisor.list", "KVM,Simulator,XenServer")
    _, items = await listed(api, "listHypervisors", api.user, zoneid=zone)
    assert items == [{"name": "Simulator"}]
    _, items = await listed(api, "listHypervisors", api.user)
    assert [i["name"] for i in items] == ["KVM", "Simulator", "XenServer"]


# listInstanceGroups and listAffinityGroups


async def _group(api: Api, account_id: int, name: str) -> str:
    uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        await insert_row(
            conn, instance_group, account_id=account_id, name=name, uuid=uuid, created=utc_now()
        )
    return uuid


async def test_instance_groups_scoped_to_the_caller(api: Api) -> None:
    mine = await _group(api, api.user.account_id, "web")
    await _group(api, api.user.account_id, "db")
    await _group(api, api.admin.account_id, "admins")
    total, items = await listed(api, "listInstanceGroups", api.user)
    assert total == 2
    check_items("listInstanceGroups", items)
    assert items[0]["id"] == mine and items[0]["account"] == api.user.account_name
    assert items[0]["domainid"] == api.user.domain_uuid and items[0]["hasannotations"] is False
    total, _ = await listed(api, "listInstanceGroups", api.admin, listall="true")
    assert total == 3
    _, items = await listed(api, "listInstanceGroups", api.user, name="db")
    assert [i["name"] for i in items] == ["db"]
    await check_paging(api, "listInstanceGroups", api.user)
    await check_bad_input(api, "listInstanceGroups", api.user)


async def test_affinity_groups_with_members(api: Api) -> None:
    seed = api.seed
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
    )
    vms = await insert_vms(api.db, 1, api.user, request)
    uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        group_id = await insert_row(
            conn,
            affinity_group,
            name="spread",
            type="host anti-affinity",
            uuid=uuid,
            description="keep apart",
            domain_id=api.user.domain_id,
            account_id=api.user.account_id,
            acl_type="Account",
        )
        vm_id = await conn.scalar(select(vm_instance.c.id).where(vm_instance.c.uuid == vms[0].uuid))
        await conn.execute(
            insert(affinity_group_vm_map).values(affinity_group_id=group_id, instance_id=vm_id)
        )
    total, items = await listed(
        api, "listAffinityGroups", api.user, page=1, pageSize=10, listall="false"
    )
    assert total == 1
    check_items("listAffinityGroups", items)
    assert items[0]["id"] == uuid and items[0]["type"] == "host anti-affinity"
    assert items[0]["virtualmachineIds"] == [vms[0].uuid]
    total, _ = await listed(api, "listAffinityGroups", api.domain_admin)
    assert total == 0
    _, items = await listed(api, "listAffinityGroups", api.user, virtualmachineid=vms[0].uuid)
    assert [i["id"] for i in items] == [uuid]
    await check_bad_input(api, "listAffinityGroups", api.user)


# listVPCs


async def test_vpcs(api: Api) -> None:
    reply = await api.signed("listVPCs", api.user, restartrequired="true")
    assert reply.json == {"listvpcsresponse": {}}
    infra = api.seed.infrastructure
    uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        offering = await insert_row(
            conn,
            table("vpc_offerings"),
            uuid=new_uuid(),
            unique_name="test-vpc-offering",
            name="Test VPC offering",
            display_text="Test VPC offering",
            state="Enabled",
            default=False,
            created=utc_now(),
            supports_distributed_router=False,
            supports_region_level_vpc=False,
            redundant_router_service=False,
            sort_key=0,
        )
        await insert_row(
            conn,
            vpc,
            uuid=uuid,
            name="vpc-1",
            display_text="first vpc",
            cidr="10.10.0.0/16",
            vpc_offering_id=offering,
            zone_id=infra.zone_id,
            state="Enabled",
            domain_id=api.user.domain_id,
            account_id=api.user.account_id,
            network_domain="cs1cloud.internal",
            created=utc_now(),
            restart_required=False,
            display=True,
            uses_distributed_router=False,
            region_level_vpc=False,
            redundant=False,
        )
    total, items = await listed(api, "listVPCs", api.user)
    assert total == 1
    check_items("listVPCs", items)
    vpc_item: dict[str, Any] = items[0]
    assert (vpc_item["id"], vpc_item["cidr"], vpc_item["zoneid"]) == (
        uuid,
        "10.10.0.0/16",
        infra.zone_uuid,
    )
    assert vpc_item["restartrequired"] is False
    total, _ = await listed(api, "listVPCs", api.user, restartrequired="true")
    assert total == 0
    total, _ = await listed(api, "listVPCs", api.domain_admin)
    assert total == 0
    await check_bad_input(api, "listVPCs", api.user)


# listVirtualMachinesMetrics


async def test_vm_metrics_list(api: Api) -> None:
    seed = api.seed
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
    )
    mine = await insert_vms(api.db, 2, api.user, request)
    total, items = await listed(api, "listVirtualMachinesMetrics", api.admin, listall="true")
    assert total == 2
    check_items("listVirtualMachinesMetrics", items)
    vm = items[0]
    assert vm["id"] == mine[0].uuid
    assert vm["ipaddress"] == vm["nic"][0]["ipaddress"]
    assert vm["instancename"] == mine[0].instance_name and vm["hostname"]
    cores, speed, memory = vm["cpunumber"], vm["cpuspeed"], vm["memory"]
    assert vm["cputotal"] == f"{cores * speed / 1000:.2f} Ghz"
    assert vm["memorytotal"] == f"{memory / 1024:.2f} GB"
    assert list(vm)[:2] == ["cputotal", "memorytotal"]
    _, plain = await listed(api, "listVirtualMachines", api.admin, listall="true")
    assert {k: v for k, v in vm.items() if k not in ("cputotal", "memorytotal")} == plain[0]
    # Users see their own VMs, without the admin-only placement fields.
    _, items = await listed(api, "listVirtualMachinesMetrics", api.user)
    assert len(items) == 2 and "instancename" not in items[0] and "hostname" not in items[0]
    await check_bad_input(api, "listVirtualMachinesMetrics", api.user)


# listNetworkServiceProviders, listOsTypes, listAnnotations


async def test_network_service_providers(api: Api) -> None:
    total, items = await listed(api, "listNetworkServiceProviders", api.admin)
    assert total >= 1
    check_items("listNetworkServiceProviders", items)
    router = next(i for i in items if i["name"] == "VirtualRouter")
    assert router["state"] == "Enabled" and "Dhcp" in router["servicelist"]
    assert router["canenableindividualservice"] is True
    # What the UI asks at login: is there an enabled security group provider?
    reply = await api.signed(
        "listNetworkServiceProviders", api.admin, name="SecurityGroupProvider", state="Enabled"
    )
    assert reply.json == {"listnetworkserviceprovidersresponse": {}}
    await check_admin_only(api, "listNetworkServiceProviders", api.user)


async def test_os_types(api: Api) -> None:
    total, items = await listed(api, "listOsTypes", api.user, page=1, pagesize=5)
    assert total > 5 and len(items) == 5
    check_items("listOsTypes", items)
    first = items[0]
    assert first["description"] and first["oscategoryname"] and first["isuserdefined"] is False
    _, one = await listed(api, "listOsTypes", api.user, id=first["id"])
    assert one == [first]
    _, same = await listed(api, "listOsTypes", api.user, oscategoryid=first["oscategoryid"])
    assert all(i["oscategoryid"] == first["oscategoryid"] for i in same)
    await check_bad_input(api, "listOsTypes", api.user)


async def test_annotations_scoped_to_their_author(api: Api) -> None:
    rows = table("annotations")
    entity = new_uuid()
    async with api.db.engine.begin() as conn:
        for author, text, admins_only in (
            (api.user.user_uuid, "user note", False),
            (api.admin.user_uuid, "admin note", False),
            (api.admin.user_uuid, "admins only", True),
        ):
            await conn.execute(
                insert(rows).values(
                    uuid=new_uuid(),
                    annotation=text,
                    entity_uuid=entity,
                    entity_type="VM",
                    user_uuid=author,
                    created=utc_now(),
                    admins_only=admins_only,
                )
            )
    params = {"entityid": entity, "entitytype": "VM", "annotationfilter": "all"}
    total, items = await listed(api, "listAnnotations", api.admin, **params)
    assert total == 3
    check_items("listAnnotations", items)
    assert {i["annotation"] for i in items} == {"user note", "admin note", "admins only"}
    total, items = await listed(api, "listAnnotations", api.user, **params)
    assert [(i["annotation"], i["username"]) for i in items] == [("user note", api.user.username)]
    total, _ = await listed(api, "listAnnotations", api.admin, entityid=new_uuid())
    assert total == 0


# The 4.20 admin dashboard: listAlerts, and host counts with lower-case filters.


async def test_alerts_newest_first_archived_hidden(api: Api) -> None:
    rows = table("alert")
    infra = api.seed.infrastructure
    uuids = []
    async with api.db.engine.begin() as conn:
        for index, (subject, archived) in enumerate(
            (("host down", False), ("old news", True), ("storage full", False))
        ):
            uuid = new_uuid()
            uuids.append(uuid)
            await conn.execute(
                insert(rows).values(
                    uuid=uuid,
                    type=index + 1,
                    name=f"ALERT.{index}",
                    data_center_id=infra.zone_id,
                    subject=subject,
                    sent_count=1,
                    created=utc_now(),
                    last_sent=utc_now().replace(second=index),
                    archived=archived,
                    content=subject,
                )
            )
    total, items = await listed(api, "listAlerts", api.admin, page=1, pagesize=5, listall="true")
    assert total == 2
    check_items("listAlerts", items)
    assert [i["description"] for i in items] == ["storage full", "host down"]
    assert items[0]["id"] == uuids[2] and items[0]["type"] == 3 and items[0]["sent"]
    total, _ = await listed(api, "listAlerts", api.admin, type=1)
    assert total == 1
    total, _ = await listed(api, "listAlerts", api.admin, type="x")
    assert total == 0
    await check_admin_only(api, "listAlerts", api.user)


async def test_dashboard_host_counts_with_lower_case_filters(api: Api) -> None:
    zone = api.seed.infrastructure.zone_uuid
    base = {"zoneid": zone, "listall": "true", "details": "min", "type": "routing"}
    total, _ = await listed(api, "listHosts", api.admin, **base)
    assert total == len(api.seed.infrastructure.host_ids)
    up, _ = await listed(api, "listHosts", api.admin, **base, state="up")
    assert up == total
    down, _ = await listed(api, "listHosts", api.admin, **base, state="down")
    assert down == 0
    maintenance, _ = await listed(api, "listHosts", api.admin, **base, resourcestate="maintenance")
    assert maintenance == 0


async def test_refusals_of_the_small_lists(api: Api) -> None:
    reply = await api.signed("listHypervisors", api.user, zoneid=UNKNOWN)
    assert reply.error("listhypervisorsresponse") == (
        431,
        9999,
        "Unable to execute API command listhypervisors due to invalid value. Invalid parameter "
        f"zoneid value={UNKNOWN} due to incorrect long value format, or entity does not exist "
        "or due to incorrect parameter annotation for the field in api cmd class.",
    )
    reply = await api.signed("listAnnotations", api.user, page="abc", pagesize=10)
    assert reply.error("listannotationsresponse") == (
        431,
        9999,
        "Unable to execute API command listannotations due to invalid value abc for parameter page",
    )
    reply = await api.signed("cloudianIsEnabled", api.user, secret="wrong")
    assert reply.error("cloudianisenabledresponse") == (
        401,
        None,
        "unable to verify user credentials and/or request signature",
    )
