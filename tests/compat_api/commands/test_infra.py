"""listPods, listClusters, listHosts and listStoragePools against a live server, both backends."""

from __future__ import annotations

from typing import Any

from compat_api.responses.javamap import java_hash_map, java_string_hash
from schema_bridge.dialect import utc_now
from schema_bridge.ids import VM_INSTANCE_SEQ, allocate, new_uuid
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    cluster,
    host,
    host_pod_ref,
    host_tags,
    storage_pool,
    table,
    vm_instance,
)
from tests.compat_api.commands.conformance import (
    check_admin_only,
    check_bad_input,
    check_items,
    check_paging,
    check_types_bare,
    listed,
)
from tests.compat_api.conftest import Api

POOL_TYPES = {
    "created": "date",
    "capacitybytes": "long",
    "disksizetotal": "long",
    "disksizeallocated": "long",
    "disksizeused": "long",
    "capacityiops": "long",
    "usediops": "long",
    "istagarule": "boolean",
    "managed": "boolean",
    "hasannotations": "boolean",
}


async def _second_pod(api: Api) -> int:
    infra = api.seed.infrastructure
    async with api.db.engine.begin() as conn:
        return await insert_row(
            conn,
            host_pod_ref,
            name="edge-pod-2",
            uuid=new_uuid(),
            data_center_id=infra.zone_id,
            gateway="172.17.0.1",
            cidr_address="172.17.0.0",
            cidr_size=24,
            allocation_state="Disabled",
            created=utc_now(),
            description="172.17.0.10-172.17.0.20-1-301,172.17.0.30-172.17.0.40",
        )


async def _second_cluster(api: Api, pod_id: int) -> int:
    async with api.db.engine.begin() as conn:
        return await insert_row(
            conn,
            cluster,
            name="kvm-cluster-2",
            uuid=new_uuid(),
            pod_id=pod_id,
            data_center_id=api.seed.infrastructure.zone_id,
            hypervisor_type="KVM",
            cluster_type="CloudManaged",
            allocation_state="Enabled",
            managed_state="Managed",
            created=utc_now(),
        )


async def _down_host(api: Api, cluster_id: int, pod_id: int) -> str:
    host_uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        host_id = await insert_row(
            conn,
            host,
            name="kvm-down-1",
            uuid=host_uuid,
            status="Down",
            type="Routing",
            private_ip_address="172.17.0.50",
            data_center_id=api.seed.infrastructure.zone_id,
            pod_id=pod_id,
            cluster_id=cluster_id,
            cpus=8,
            speed=2400,
            ram=16 * 1024**3,
            hypervisor_type="KVM",
            version="4.20.2.0",
            dom0_memory=0,
            last_ping=0,
            resource_state="Disabled",
            guid=new_uuid(),
            created=utc_now(),
        )
        for tag, implicit in (("ssd", False), ("gpu", True)):
            await insert_row(
                conn, host_tags, host_id=host_id, tag=tag, is_tag_a_rule=False, is_implicit=implicit
            )
    return host_uuid


async def _uuid_of(api: Api, command: str, name: str) -> str:
    _, items = await listed(api, command, api.admin, name=name)
    return str(items[0]["id"])


# --- listPods -----------------------------------------------------------------------------


async def test_pods_fields_and_ranges(api: Api) -> None:
    await _second_pod(api)
    count, pods = await listed(api, "listPods", api.admin)
    assert count == 2
    check_items("listPods", pods)
    first, second = pods
    assert first["name"] == "demo-pod-1" and first["netmask"] == "255.255.240.0"
    assert first["zoneid"] == api.seed.infrastructure.zone_uuid
    assert first["ipranges"] == [] and first["startip"] == [] and first["hasannotations"] is False
    assert second["netmask"] == "255.255.255.0"
    assert second["startip"] == ["172.17.0.10", "172.17.0.30"]
    assert second["endip"] == ["172.17.0.20", "172.17.0.40"]
    assert second["forsystemvms"] == ["1", "0"]
    assert second["vlanid"] == ["vlan://301", "vlan://untagged"]
    assert second["ipranges"][0] == {
        "startip": "172.17.0.10",
        "endip": "172.17.0.20",
        "forsystemvms": "1",
        "vlanid": "vlan://301",
    }


async def test_pods_paging_and_filters(api: Api) -> None:
    await _second_pod(api)
    await check_paging(api, "listPods", api.admin)
    zone = api.seed.infrastructure.zone_uuid
    assert (await listed(api, "listPods", api.admin, name="edge-pod-2"))[0] == 1
    assert (await listed(api, "listPods", api.admin, name="edge-pod"))[0] == 0
    assert (await listed(api, "listPods", api.admin, keyword="POD"))[0] == 2
    assert (await listed(api, "listPods", api.admin, keyword="%"))[0] == 0
    assert (await listed(api, "listPods", api.admin, zoneid=zone))[0] == 2
    _, disabled = await listed(api, "listPods", api.admin, allocationstate="Disabled")
    assert [p["name"] for p in disabled] == ["edge-pod-2"]
    pod_uuid = disabled[0]["id"]
    _, by_id = await listed(api, "listPods", api.admin, id=pod_uuid)
    assert [p["id"] for p in by_id] == [pod_uuid]


async def test_pods_xml_lists_are_repeated_elements(api: Api) -> None:
    await _second_pod(api)
    reply = await api.signed("listPods", api.admin, fmt="xml", name="edge-pod-2")
    assert reply.status == 200
    assert "<startip>172.17.0.10</startip><startip>172.17.0.30</startip>" in reply.text
    assert "<ipranges><startip>172.17.0.10</startip>" in reply.text


async def test_pods_are_for_root_admins(api: Api) -> None:
    await check_admin_only(api, "listPods", api.user)
    await check_admin_only(api, "listPods", api.domain_admin)


async def test_pods_bad_input(api: Api) -> None:
    await check_bad_input(api, "listPods", api.admin)


# --- listClusters -------------------------------------------------------------------------


async def test_clusters_fields_paging_and_filters(api: Api) -> None:
    pod_id = await _second_pod(api)
    await _second_cluster(api, pod_id)
    count, clusters = await listed(api, "listClusters", api.admin)
    assert count == 2
    check_items("listClusters", clusters)
    demo, kvm = clusters
    assert demo["cpuovercommitratio"] == "4.0" and demo["memoryovercommitratio"] == "1.0"
    assert demo["resourcedetails"] == {"cpuOvercommitRatio": "4.0", "memoryOvercommitRatio": "1.0"}
    assert kvm["resourcedetails"] == {} and "cpuovercommitratio" not in kvm
    assert kvm["podname"] == "edge-pod-2" and kvm["hypervisortype"] == "KVM"
    await check_paging(api, "listClusters", api.admin)
    assert [
        c["name"] for c in (await listed(api, "listClusters", api.admin, hypervisor="kvm"))[1]
    ] == ["kvm-cluster-2"]
    pod_uuid = await _uuid_of(api, "listPods", "edge-pod-2")
    assert (await listed(api, "listClusters", api.admin, podid=pod_uuid))[0] == 1
    assert (await listed(api, "listClusters", api.admin, keyword="cluster"))[0] == 2
    assert (await listed(api, "listClusters", api.admin, name="kvm-cluster-2"))[0] == 1
    assert (await listed(api, "listClusters", api.admin, id=kvm["id"]))[1] == [kvm]


async def test_clusters_xml_details_are_a_java_map(api: Api) -> None:
    reply = await api.signed("listClusters", api.admin, fmt="xml")
    # Java HashMap order: memoryOvercommitRatio hashes into an earlier bucket.
    text = "<resourcedetails>{memoryOvercommitRatio=1.0, cpuOvercommitRatio=4.0}</resourcedetails>"
    assert text in reply.text
    _, (item,) = await listed(api, "listClusters", api.admin)
    assert list(item["resourcedetails"]) == ["memoryOvercommitRatio", "cpuOvercommitRatio"]


def test_java_hash_map_order() -> None:
    assert java_string_hash("hello") == 99162322  # "hello".hashCode() in Java
    assert java_string_hash("\u00e9t\u00e9") == 233 * 31**2 + 116 * 31 + 233  # UTF-16 units
    keys = ["datastore", "datastoreId", "datastoreRole", "downloadPercent", "downloadState"]
    ordered = java_hash_map(dict.fromkeys(keys, ""))
    assert list(ordered) == [
        "downloadState",
        "datastore",
        "datastoreRole",
        "downloadPercent",
        "datastoreId",
    ]


async def test_clusters_access_and_bad_input(api: Api) -> None:
    await check_admin_only(api, "listClusters", api.user)
    await check_bad_input(api, "listClusters", api.admin)


# --- listHosts ----------------------------------------------------------------------------


async def test_hosts_fields_and_capacity(api: Api) -> None:
    count, hosts = await listed(api, "listHosts", api.admin)
    assert count == api.seed.hosts == len(hosts)
    check_items("listHosts", hosts)
    first = hosts[0]
    assert first["state"] == "Up" and first["type"] == "Routing"
    assert first["hypervisor"] == "Simulator" and first["clustertype"] == "CloudManaged"
    # 32 cores at 2000 MHz with the cluster's CPU over-commit of 4.
    assert first["cpunumber"] == 128 and first["cpuwithoverprovisioning"] == "256000"
    assert first["cpuallocated"] == "0%" and first["memoryallocated"] == 0
    assert first["memorytotal"] == 192 * 1024**3
    assert first["lastpinged"].startswith("1970-")
    assert "Ping" in first["events"].split("; ")
    assert first["hostha"] == {"haenable": False, "hastate": "Disabled"}


async def test_hosts_paging_and_filters(api: Api) -> None:
    await check_paging(api, "listHosts", api.admin)
    pod_id = await _second_pod(api)
    kvm_uuid = await _down_host(api, await _second_cluster(api, pod_id), pod_id)
    assert (await listed(api, "listHosts", api.admin))[0] == api.seed.hosts + 1
    _, down = await listed(api, "listHosts", api.admin, resourcestate="Disabled")
    assert [h["id"] for h in down] == [kvm_uuid]
    (item,) = down
    check_items("listHosts", down)
    assert item["hosttags"] == "ssd,gpu" and item["explicithosttags"] == "ssd"
    assert item["implicithosttags"] == "gpu" and item["istagarule"] is False
    # No cluster details: the global cpu.overprovisioning.factor (4.0) applies.
    assert item["cpunumber"] == 32 and item["cpuwithoverprovisioning"] == "76800"
    assert (
        item["events"]
        == "AgentConnected; Remove; ManagementServerDown; AgentDisconnected; PingTimeout; HostDown"
    )
    assert (await listed(api, "listHosts", api.admin, state="Down"))[0] == 1
    assert (await listed(api, "listHosts", api.admin, keyword="down"))[0] == 1
    assert (await listed(api, "listHosts", api.admin, name="Simulated"))[0] == 0
    assert (await listed(api, "listHosts", api.admin, name="kvm-down-1"))[0] == 1
    assert (await listed(api, "listHosts", api.admin, hypervisor="kvm"))[0] == 1
    # An unknown hypervisor name filters nothing; the keyword also matches the agent version.
    assert (await listed(api, "listHosts", api.admin, hypervisor="junk"))[0] == api.seed.hosts + 1
    assert (await listed(api, "listHosts", api.admin, keyword="4.20.2"))[0] == api.seed.hosts + 1
    pod_uuid = await _uuid_of(api, "listPods", "edge-pod-2")
    assert (await listed(api, "listHosts", api.admin, podid=pod_uuid))[0] == 1
    assert (await listed(api, "listHosts", api.admin, type="Routing"))[0] == api.seed.hosts + 1
    assert (await listed(api, "listHosts", api.admin, type="ConsoleProxy"))[0] == 0


async def test_hosts_a_vm_can_migrate_to(api: Api) -> None:
    first = api.seed.infrastructure.host_ids[0]
    async with api.db.engine.begin() as conn:
        vm_id = await allocate(conn, VM_INSTANCE_SEQ)
        vm_uuid = new_uuid()
        await insert_row(
            conn,
            vm_instance,
            id=vm_id,
            name="web-1",
            uuid=vm_uuid,
            instance_name="i-2-1-VM",
            state="Running",
            guest_os_id=1,
            data_center_id=api.seed.infrastructure.zone_id,
            vnc_password="x",
            created=utc_now(),
            type="User",
            vm_type="User",
            account_id=2,
            domain_id=1,
            service_offering_id=api.seed.catalog.small_offering_id,
            host_id=first,
        )
    _, others = await listed(api, "listHosts", api.admin, virtualmachineid=vm_uuid)
    assert len(others) == api.seed.hosts - 1


async def test_hosts_details_views(api: Api) -> None:
    _, hosts = await listed(api, "listHosts", api.admin, details="min")
    check_items("listHosts", hosts)
    assert "cpuallocated" not in hosts[0] and "zonename" not in hosts[0]
    assert hosts[0]["memoryallocated"] == 0  # a Java primitive, always present
    _, hosts = await listed(api, "listHosts", api.admin, details="events")
    assert "events" in hosts[0] and "memorytotal" not in hosts[0] and "zonename" in hosts[0]
    reply = await api.signed("listHosts", api.admin, details="everything")
    assert reply.error("listhostsresponse") == (
        431,
        4350,
        "The details parameter contains a non permitted value. The allowed values are "
        "[all, capacity, events, stats, min]",
    )


async def test_hosts_access_and_bad_input(api: Api) -> None:
    await check_admin_only(api, "listHosts", api.user)
    await check_admin_only(api, "listHosts", api.domain_admin)
    await check_bad_input(api, "listHosts", api.admin)


# --- listStoragePools ---------------------------------------------------------------------


async def _second_pool(api: Api) -> None:
    infra = api.seed.infrastructure
    async with api.db.engine.begin() as conn:
        pool_id = await insert_row(
            conn,
            storage_pool,
            name="zone-ceph-2",
            uuid=new_uuid(),
            pool_type="RBD",
            port=6789,
            data_center_id=infra.zone_id,
            host_address="10.0.0.20",
            path="cloudstack",
            capacity_bytes=10 * 1024**4,
            used_bytes=1024**3,
            status="Maintenance",
            scope="ZONE",
            hypervisor="KVM",
            storage_provider_name="DefaultPrimary",
            managed=False,
            created=utc_now(),
        )
        await insert_row(
            conn, table("storage_pool_tags"), pool_id=pool_id, tag="fast", is_tag_a_rule=False
        )


async def test_pools_fields_paging_and_filters(api: Api) -> None:
    await _second_pool(api)
    reply = await api.signed("listStoragePools", api.admin)
    inner = reply.inner("liststoragepoolsresponse")
    assert list(inner) == ["count", "storagepool"] and inner["count"] == 2
    pools: list[dict[str, Any]] = inner["storagepool"]
    check_items("listStoragePools", pools)
    check_types_bare("listStoragePools", pools, POOL_TYPES)
    nfs, ceph = pools
    assert nfs["type"] == "NetworkFilesystem" and nfs["clustername"] == "demo-cluster-1"
    assert nfs["overprovisionfactor"] == "2.0" and nfs["state"] == "Up"
    assert ceph["tags"] == "fast" and ceph["istagarule"] is False and "clusterid" not in ceph
    assert ceph["disksizeused"] == 1024**3 and ceph["hypervisor"] == "KVM"
    await check_paging(api, "listStoragePools", api.admin)
    assert [
        p["name"] for p in (await listed(api, "listStoragePools", api.admin, keyword="rbd"))[1]
    ] == ["zone-ceph-2"]
    assert (await listed(api, "listStoragePools", api.admin, scope="ZONE"))[0] == 1
    assert (await listed(api, "listStoragePools", api.admin, status="Up"))[0] == 1
    assert (await listed(api, "listStoragePools", api.admin, ipaddress="10.0.0.20"))[0] == 1
    assert (await listed(api, "listStoragePools", api.admin, name="demo-primary-1"))[0] == 1
    host_uuid = (await listed(api, "listHosts", api.admin))[1][0]["id"]
    assert [
        p["name"] for p in (await listed(api, "listStoragePools", api.admin, hostid=host_uuid))[1]
    ] == ["demo-primary-1"]
    assert (await listed(api, "listStoragePools", api.admin, id=ceph["id"]))[1] == [ceph]


async def test_pools_access_and_bad_input(api: Api) -> None:
    await check_admin_only(api, "listStoragePools", api.user)
    await check_bad_input(api, "listStoragePools", api.admin)
