"""listNetworks and listNetworkOfferings on a live server, both backends."""

from __future__ import annotations

from typing import Any

from schema_bridge.dialect import utc_now
from schema_bridge.ids import NETWORKS_SEQ, allocate, new_uuid
from schema_bridge.seed_identity import Credentials
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    domain,
    domain_network_ref,
    network_offering_details,
    network_offerings,
    networks,
    ntwk_service_map,
    table,
)
from tests.compat_api.commands.conformance import check_bad_input, check_items, check_paging, listed
from tests.compat_api.conftest import Api

SHARED = "demo-shared-1"


async def _network(api: Api, name: str, owner: Credentials | None, **values: Any) -> int:
    """A guest network; isolated and owned by `owner` unless told otherwise."""
    seeded = api.seed.networking
    row: dict[str, Any] = {
        "name": name,
        "uuid": new_uuid(),
        "display_text": name,
        "traffic_type": "Guest",
        "broadcast_domain_type": "Vlan",
        "network_offering_id": seeded.isolated_offering_id,
        "data_center_id": api.seed.infrastructure.zone_id,
        "guru_name": "ExternalGuestNetworkGuru",
        "state": "Implemented",
        "acl_type": "Account",
        "guest_type": "Isolated",
        "gateway": "10.9.0.1",
        "cidr": "10.9.0.0/24",
        "broadcast_uri": "vlan://1001",
        "account_id": owner.account_id if owner else 1,
        "domain_id": owner.domain_id if owner else 1,
        "created": utc_now(),
    }
    row.update(values)
    async with api.db.engine.begin() as conn:
        # Network ids come from the sequence table; `related` is the network itself.
        network_id = await allocate(conn, NETWORKS_SEQ)
        await insert_row(conn, networks, id=network_id, related=network_id, **row)
        for service in ("Dhcp", "SourceNat", "Gateway"):
            await insert_row(
                conn,
                ntwk_service_map,
                network_id=network_id,
                service=service,
                provider="VirtualRouter",
                created=utc_now(),
            )
    return network_id


async def _other_domain(api: Api) -> int:
    async with api.db.engine.begin() as conn:
        return await insert_row(
            conn,
            domain,
            parent=1,
            name="Other",
            uuid=new_uuid(),
            owner=2,
            path="/Other/",
            level=1,
            state="Active",
            created=utc_now(),
        )


async def _domain_network(api: Api, name: str, domain_id: int, subdomains: bool) -> None:
    shared = api.seed.networking.shared_offering_id
    network_id = await _network(
        api,
        name,
        None,
        acl_type="Domain",
        guest_type="Shared",
        network_offering_id=shared,
        domain_id=domain_id,
    )
    async with api.db.engine.begin() as conn:
        await insert_row(
            conn,
            domain_network_ref,
            domain_id=domain_id,
            network_id=network_id,
            subdomain_access=int(subdomains),
        )


async def _names(api: Api, who: Credentials, **params: Any) -> list[str]:
    _, items = await listed(api, "listNetworks", who, **params)
    return [n["name"] for n in items]


# --- listNetworks -------------------------------------------------------------------------


async def test_networks_fields_and_admin_only_fields(api: Api) -> None:
    await _network(api, "alice-net", api.user)
    _, items = await listed(api, "listNetworks", api.admin, listall="true")
    check_items("listNetworks", items)
    alice, shared = items
    assert [alice["name"], shared["name"]] == ["alice-net", SHARED]
    assert alice["account"] == "alice" and alice["domain"] == "Customers"
    assert alice["domainpath"] == "ROOT/Customers" and alice["egressdefaultpolicy"] is False
    assert alice["vlan"] == "1001" and alice["broadcasturi"] == "vlan://1001"
    assert [s["name"] for s in alice["service"]] == ["Dhcp", "SourceNat"]  # no Gateway
    assert alice["netmask"] == "255.255.255.0" and alice["dns1"] == "8.8.8.8"
    assert shared["acltype"] == "Domain" and shared["subdomainaccess"] is True
    assert shared["domain"] == "ROOT" and "account" not in shared
    assert shared["canusefordeploy"] is True and shared["type"] == "Shared"
    _, mine = await listed(api, "listNetworks", api.user)
    check_items("listNetworks", mine)
    assert all(k not in n for n in mine for k in ("vlan", "broadcasturi", "displaynetwork"))


async def test_networks_scoping(api: Api) -> None:
    await _network(api, "alice-net", api.user)
    await _network(api, "customers-admin-net", api.domain_admin)
    await _network(api, "admin-net", api.admin)
    other = await _other_domain(api)
    await _domain_network(api, "other-shared", other, subdomains=True)
    await _domain_network(api, "customers-shared", api.user.domain_id, subdomains=False)
    user, dadmin, admin = api.user, api.domain_admin, api.admin
    assert await _names(api, user) == ["customers-shared", "alice-net", SHARED]
    assert await _names(api, user, listall="true") == ["customers-shared", "alice-net", SHARED]
    # Admins see every account network of their own domain, not only their account's.
    assert await _names(api, dadmin) == [
        "customers-shared",
        "customers-admin-net",
        "alice-net",
        SHARED,
    ]
    assert await _names(api, dadmin, listall="true") == [
        "customers-shared",
        "customers-admin-net",
        "alice-net",
        SHARED,
    ]
    assert await _names(api, admin) == ["admin-net", SHARED]
    assert (await listed(api, "listNetworks", admin, listall="true"))[0] == 6
    assert await _names(api, admin, account="alice", domainid=user.domain_uuid) == [
        "customers-shared",
        "alice-net",
        SHARED,
    ]
    reply = await api.signed("listNetworks", user, domainid=admin.domain_uuid)
    code, cs_code, _ = reply.error("listnetworksresponse")
    assert (code, cs_code) == (531, 4365)


async def test_networks_shared_with_an_account_and_recursion(api: Api) -> None:
    admin_net = await _network(api, "admin-net", api.admin)
    await _network(api, "alice-net", api.user)
    async with api.db.engine.begin() as conn:
        await insert_row(
            conn, table("network_permissions"), network_id=admin_net, account_id=api.user.account_id
        )
    assert await _names(api, api.user) == ["alice-net", "admin-net", SHARED]
    root = api.admin.domain_uuid
    assert await _names(api, api.admin, domainid=root) == ["admin-net", SHARED]
    assert await _names(api, api.admin, domainid=root, isrecursive="true") == [
        "alice-net",
        "admin-net",
        SHARED,
    ]
    reply = await api.signed("listNetworks", api.admin, account="nobody", domainid=root)
    assert reply.error("listnetworksresponse") == (
        431,
        4350,
        "Unable to find account nobody in specified domain",
    )


async def test_network_filters(api: Api) -> None:
    await _network(api, "alice-net", api.user)
    admin = api.admin
    assert await _names(api, admin, listall="true", type="isolated") == ["alice-net"]
    assert await _names(api, admin, listall="true", keyword="SHARED") == [SHARED]
    assert await _names(api, admin, listall="true", name="alice-net") == ["alice-net"]
    assert await _names(api, admin, listall="true", supportedservices="SourceNat") == ["alice-net"]
    assert await _names(api, admin, listall="true", traffictype="guest") == ["alice-net", SHARED]
    assert await _names(api, admin, listall="true", acltype="Domain") == [SHARED]
    zone = api.seed.infrastructure.zone_uuid
    assert (await listed(api, "listNetworks", admin, listall="true", zoneid=zone))[0] == 2
    shared_uuid = api.seed.networking.guest_network_uuid
    assert await _names(api, api.user, id=shared_uuid) == [SHARED]
    assert await _names(api, admin, listall="true", canusefordeploy="true") == ["alice-net", SHARED]


async def test_full_shared_network_cannot_be_deployed_into(api: Api) -> None:
    await _domain_network(api, "no-free-ips", api.user.domain_id, subdomains=True)
    _, items = await listed(api, "listNetworks", api.user, canusefordeploy="false")
    assert [(n["name"], n["canusefordeploy"]) for n in items] == [("no-free-ips", False)]


async def test_system_networks_are_for_root_admins(api: Api) -> None:
    _, items = await listed(api, "listNetworks", api.admin, issystem="true")
    assert sorted(n["traffictype"] for n in items) == ["Control", "Management", "Public", "Storage"]
    assert all(n["issystem"] for n in items)
    check_items("listNetworks", items)
    # For anyone but a root admin the flag is ignored.
    assert await _names(api, api.user, issystem="true") == [SHARED]
    reply = await api.signed("listNetworks", api.admin, issystem="true", account="admin")
    assert reply.error("listnetworksresponse") == (
        431,
        4350,
        "System network belongs to system, account and domainId parameters can't be specified",
    )


async def test_networks_paging_and_bad_input(api: Api) -> None:
    await _network(api, "alice-net", api.user)
    await check_paging(api, "listNetworks", api.user)
    await check_bad_input(api, "listNetworks", api.user)


# --- listNetworkOfferings -----------------------------------------------------------------


async def _offering(api: Api, name: str, **values: Any) -> int:
    async with api.db.engine.begin() as conn:
        return await insert_row(
            conn,
            network_offerings,
            name=name,
            uuid=new_uuid(),
            unique_name=name,
            display_text=f"{name} text",
            traffic_type="Guest",
            created=utc_now(),
            availability="Optional",
            state="Enabled",
            guest_type="Isolated",
            **values,
        )


async def test_network_offerings_fields_and_filters(api: Api) -> None:
    count, items = await listed(api, "listNetworkOfferings", api.user)
    # The four System-*-Network offerings are never listed.
    assert count == 4 and [o["guestiptype"] for o in items] == [
        "Isolated",
        "Isolated",
        "Shared",
        "L2",
    ]
    check_items("listNetworkOfferings", items)
    first = items[0]
    assert first["networkrate"] == 200 and first["isdefault"] is True
    source_nat = next(s for s in first["service"] if s["name"] == "SourceNat")
    assert source_nat["capability"][0] == {
        "name": "SupportedSourceNatTypes",
        "value": "peraccount",
        "canchooseservicecapability": False,
    }
    assert all(s["name"] != "Gateway" for s in first["service"])
    user = api.user
    assert (await listed(api, "listNetworkOfferings", user, guestiptype="shared"))[0] == 1
    assert (await listed(api, "listNetworkOfferings", user, sourcenatsupported="true"))[0] == 1
    assert (await listed(api, "listNetworkOfferings", user, supportedservices="Dhcp,Dns"))[0] == 3
    assert (await listed(api, "listNetworkOfferings", user, keyword="L2"))[0] == 1
    assert (await listed(api, "listNetworkOfferings", user, id=first["id"]))[1] == [first]
    assert (await listed(api, "listNetworkOfferings", user, specifyvlan="true"))[0] == 1
    assert (await listed(api, "listNetworkOfferings", user, state="Disabled"))[0] == 0
    # `tags` takes up to 4096 characters (a length the inventory stores as text).
    assert (await listed(api, "listNetworkOfferings", user, tags="gold"))[0] == 0


async def test_network_offering_visibility_and_rate(api: Api) -> None:
    unlimited = await _offering(api, "unlimited", nw_rate=0)
    customers = await _offering(api, "customers-only")
    other = await _offering(api, "other-only")
    other_domain = await _other_domain(api)
    async with api.db.engine.begin() as conn:
        for offering_id, domain_id in ((customers, api.user.domain_id), (other, other_domain)):
            await insert_row(
                conn,
                network_offering_details,
                network_offering_id=offering_id,
                name="domainid",
                value=str(domain_id),
                display=True,
            )
    assert unlimited
    _, items = await listed(api, "listNetworkOfferings", api.user)
    by_name = {o["name"]: o for o in items}
    assert set(by_name) >= {"unlimited", "customers-only"} and "other-only" not in by_name
    assert by_name["unlimited"]["networkrate"] == -1
    assert by_name["customers-only"]["domain"] == "Customers"
    assert (await listed(api, "listNetworkOfferings", api.admin))[0] == 7
    assert (await listed(api, "listNetworkOfferings", api.domain_admin))[0] == 6
    # domainid keeps public offerings and those dedicated to that domain or above it.
    other_uuid = (await listed(api, "listDomains", api.admin, name="Other"))[1][0]["id"]
    _, for_other = await listed(api, "listNetworkOfferings", api.admin, domainid=other_uuid)
    assert "other-only" in [o["name"] for o in for_other] and len(for_other) == 6


async def test_network_offerings_paging_and_bad_input(api: Api) -> None:
    await check_paging(api, "listNetworkOfferings", api.user)
    await check_bad_input(api, "listNetworkOfferings", api.user)
