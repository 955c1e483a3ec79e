"""listTemplates, listServiceOfferings and listDiskOfferings on a live server, both backends."""

from __future__ import annotations

from typing import Any

import pytest

from schema_bridge.dialect import utc_now
from schema_bridge.ids import VM_INSTANCE_SEQ, allocate, new_uuid
from schema_bridge.seed_catalog import GUEST_OS_UBUNTU_2204
from schema_bridge.seed_identity import Credentials, create_child_domain
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import (
    data_center,
    disk_offering,
    disk_offering_details,
    domain,
    launch_permission,
    service_offering,
    service_offering_details,
    template_store_ref,
    template_zone_ref,
    vm_instance,
    vm_template,
)
from tests.compat_api.commands.conformance import (
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api

SEEDED = [
    "SystemVM Template (Simulator)",
    "Ubuntu 22.04 LTS (Simulator)",
    "Rocky Linux 9 (Simulator)",
    "alice-webserver",
]
PUBLIC = SEEDED[1:3]


async def _template(
    api: Api,
    name: str,
    owner: int,
    *,
    public: bool = False,
    featured: bool = False,
    ready: bool = True,
) -> str:
    """A template with a zone reference and an image-store copy (Ready or still downloading)."""
    template_uuid, now = new_uuid(), utc_now()
    async with api.db.engine.begin() as conn:
        template_id = await insert_row(
            conn,
            vm_template,
            unique_name=name,
            name=name,
            uuid=template_uuid,
            public=int(public),
            featured=int(featured),
            type="USER",
            hvm=1,
            bits=64,
            format="QCOW2",
            created=now,
            account_id=owner,
            display_text=name,
            guest_os_id=GUEST_OS_UBUNTU_2204,
            hypervisor_type="Simulator",
            state="Active",
            url=f"http://example.org/{name}.qcow2",
            checksum="{SHA-256}abc123",
        )
        await insert_row(
            conn,
            template_zone_ref,
            zone_id=api.seed.infrastructure.zone_id,
            template_id=template_id,
            created=now,
            last_updated=now,
        )
        await insert_row(
            conn,
            template_store_ref,
            store_id=api.seed.infrastructure.image_store_id,
            template_id=template_id,
            created=now,
            store_role="Image",
            destroyed=False,
            download_pct=100 if ready else 40,
            size=2 * 1024**3,
            physical_size=1024**3,
            download_state="DOWNLOADED" if ready else "DOWNLOAD_IN_PROGRESS",
            state="Ready" if ready else "Creating",
            url=f"http://example.org/{name}.qcow2",
        )
    return template_uuid


async def _names(api: Api, who: Credentials, **params: Any) -> list[str]:
    _, items = await listed(api, "listTemplates", who, **params)
    return [t["name"] for t in items]


# --- listTemplates ------------------------------------------------------------------------


async def test_templates_fields_for_root_admin(api: Api) -> None:
    count, items = await listed(api, "listTemplates", api.admin, templatefilter="all")
    assert count == 4 and [t["name"] for t in items] == SEEDED
    check_items("listTemplates", items)
    system, ubuntu = items[0], items[1]
    assert system["templatetype"] == "SYSTEM" and system["isextractable"] is False
    assert system["crossZones"] is True and system["account"] == "system"
    assert ubuntu["ispublic"] and ubuntu["isfeatured"] and ubuntu["isready"]
    assert ubuntu["status"] == "Download Complete" and ubuntu["url"].startswith("https://")
    assert ubuntu["zoneid"] == api.seed.infrastructure.zone_uuid
    assert ubuntu["domain"] == "ROOT" and ubuntu["domainpath"] == "ROOT"
    assert ubuntu["ostypename"] == "Ubuntu 22.04 LTS" and ubuntu["bits"] == 64
    assert ubuntu["childtemplates"] == [] and ubuntu["tags"] == []
    assert ubuntu["details"] == {}  # the default details view carries the map, even empty
    (copy,) = ubuntu["downloaddetails"]
    assert list(copy) == [
        "downloadState",
        "datastore",
        "datastoreRole",
        "downloadPercent",
        "datastoreId",
    ]


async def test_templates_filters_for_a_user(api: Api) -> None:
    user = api.user
    await _template(api, "alice-building", user.account_id, ready=False)
    await _template(api, "community-debian", api.admin.account_id, public=True)
    shared = await _template(api, "shared-with-alice", api.admin.account_id)
    async with api.db.engine.begin() as conn:
        template_id = await conn.scalar(
            vm_template.select()
            .with_only_columns(vm_template.c.id)
            .where(vm_template.c.uuid == shared)
        )
        await insert_row(
            conn, launch_permission, template_id=template_id, account_id=user.account_id
        )
    assert await _names(api, user, templatefilter="featured") == PUBLIC
    assert await _names(api, user, templatefilter="community") == ["community-debian"]
    assert await _names(api, user, templatefilter="self") == ["alice-webserver", "alice-building"]
    assert await _names(api, user, templatefilter="selfexecutable") == ["alice-webserver"]
    assert await _names(api, user, templatefilter="sharedexecutable") == ["shared-with-alice"]
    assert await _names(api, user, templatefilter="executable") == [
        *PUBLIC,
        "alice-webserver",
        "alice-building",
        "community-debian",
    ]
    _, own = await listed(api, "listTemplates", user, templatefilter="self")
    check_items("listTemplates", own)
    building = own[1]
    assert building["isready"] is False and building["status"] == "40% Downloaded"
    assert building["checksum"] == "abc123"
    assert "datastoreId" not in building["downloaddetails"][0]


async def test_templates_status_and_url_only_for_owner_or_root(api: Api) -> None:
    _, items = await listed(api, "listTemplates", api.user, templatefilter="executable")
    by_name = {t["name"]: t for t in items}
    assert "status" not in by_name[PUBLIC[0]] and "url" not in by_name[PUBLIC[0]]
    assert by_name["alice-webserver"]["status"] == "Download Complete"
    _, items = await listed(api, "listTemplates", api.domain_admin, templatefilter="all")
    assert [t["name"] for t in items] == [*PUBLIC, "alice-webserver"]
    assert all("status" not in t for t in items)


async def test_templates_all_is_for_admins(api: Api) -> None:
    reply = await api.signed("listTemplates", api.user, templatefilter="all")
    assert reply.error("listtemplatesresponse") == (
        431,
        4350,
        "Filter all can be specified by admin only",
    )
    reply = await api.signed("listTemplates", api.user, templatefilter="mine")
    assert reply.error("listtemplatesresponse") == (
        431,
        -1,
        "No enum constant com.cloud.template.VirtualMachineTemplate.TemplateFilter.mine",
    )


async def test_templates_by_id_checks_access(api: Api) -> None:
    _, items = await listed(api, "listTemplates", api.admin, templatefilter="all")
    ids = {t["name"]: t["id"] for t in items}
    private = await _template(api, "admin-private", api.admin.account_id)
    reply = await api.signed("listTemplates", api.user, templatefilter="executable", id=private)
    assert reply.error("listtemplatesresponse") == (
        531,
        4365,
        "Caller does not have permission to operate with provided resource.",
    )
    assert await _names(api, api.user, templatefilter="featured", id=ids["alice-webserver"]) == [
        "alice-webserver"
    ]
    assert await _names(
        api, api.domain_admin, templatefilter="self", id=ids["alice-webserver"]
    ) == ["alice-webserver"]
    # featured hides SYSTEM templates even when asked for by id.
    assert await _names(api, api.admin, templatefilter="featured", id=ids[SEEDED[0]]) == []
    assert await _names(
        api, api.admin, templatefilter="all", ids=f"{ids[PUBLIC[0]]},{ids[SEEDED[0]]}"
    ) == [SEEDED[0], PUBLIC[0]]


async def test_templates_attribute_filters(api: Api) -> None:
    admin, zone = api.admin, api.seed.infrastructure.zone_uuid
    assert await _names(api, admin, templatefilter="all", keyword="rocky") == [PUBLIC[1]]
    assert await _names(api, admin, templatefilter="all", name="alice-webserver") == [SEEDED[3]]
    assert await _names(api, admin, templatefilter="all", zoneid=zone) == SEEDED
    assert await _names(api, admin, templatefilter="all", hypervisor="simulator") == SEEDED
    assert await _names(api, admin, templatefilter="all", hypervisor="KVM") == []
    assert await _names(api, admin, templatefilter="all", hypervisor="junk") == SEEDED
    assert await _names(api, admin, templatefilter="all", templatetype="system") == [SEEDED[0]]
    reply = await api.signed("listTemplates", admin, templatefilter="all", templatetype="disk")
    assert reply.error("listtemplatesresponse")[:2] == (431, 4350)


async def test_templates_self_by_domain_for_admins(api: Api) -> None:
    admin, customers, root = api.admin, api.user.domain_uuid, api.admin.domain_uuid
    assert await _names(api, admin, templatefilter="self", domainid=customers) == [SEEDED[3]]
    assert await _names(api, admin, templatefilter="self", domainid=root) == SEEDED[:3]
    assert await _names(api, admin, templatefilter="self", domainid=root, isrecursive="true") == (
        SEEDED
    )
    # Shared templates need an account to be shared with.
    assert await _names(api, admin, templatefilter="sharedexecutable", domainid=root) == []
    assert await _names(api, admin, templatefilter="self", account="alice", domainid=customers) == [
        SEEDED[3]
    ]


async def test_templates_keyword_matches_display_text(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            vm_template.update()
            .where(vm_template.c.id == api.seed.catalog.user_template_id)
            .values(display_text="nginx golden image")
        )
    admin = api.admin
    assert await _names(api, admin, templatefilter="all", keyword="golden") == [SEEDED[3]]
    assert await _names(api, admin, templatefilter="all", keyword="golden", name="x") == []


async def test_templates_one_row_per_zone(api: Api) -> None:
    now = utc_now()
    async with api.db.engine.begin() as conn:
        zone2 = await insert_row(
            conn,
            data_center,
            name="zone-2",
            uuid=new_uuid(),
            dns1="8.8.8.8",
            internal_dns1="10.0.0.2",
            networktype="Advanced",
            allocation_state="Enabled",
        )
        ubuntu = api.seed.catalog.template_ids[0]
        await insert_row(
            conn,
            template_zone_ref,
            zone_id=zone2,
            template_id=ubuntu,
            created=now,
            last_updated=now,
        )
    count, items = await listed(api, "listTemplates", api.admin, templatefilter="all")
    assert count == 5
    pairs = [(t["name"], t.get("zonename")) for t in items]
    assert pairs[1:3] == [(PUBLIC[0], "demo-zone-1"), (PUBLIC[0], "zone-2")]
    second = items[2]
    assert second["isready"] is False and second["downloaddetails"] == []
    assert "created" not in second and second["status"] == "Active"
    assert await _names(api, api.user, templatefilter="featured") == PUBLIC


async def test_templates_paging_and_bad_input(api: Api) -> None:
    await check_paging(api, "listTemplates", api.admin, templatefilter="all")
    await check_bad_input(api, "listTemplates", api.user, templatefilter="executable")
    reply = await api.signed("listTemplates", api.user)
    assert reply.error("listtemplatesresponse") == (
        431,
        9999,
        "Unable to execute API command listtemplates due to missing parameter templatefilter",
    )


# --- listServiceOfferings / listDiskOfferings ---------------------------------------------


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


async def _service(api: Api, name: str, **values: Any) -> int:
    async with api.db.engine.begin() as conn:
        return await insert_row(
            conn,
            service_offering,
            name=name,
            uuid=new_uuid(),
            display_text=f"{name} text",
            cpu=2,
            speed=1000,
            ram_size=1024,
            created=utc_now(),
            **{"state": "Active", **values},
        )


async def _detail(
    api: Api, table: Any, owner: str, offering_id: int, name: str, value: str, display: bool = True
) -> None:
    async with api.db.engine.begin() as conn:
        await insert_row(
            conn, table, **{owner: offering_id}, name=name, value=value, display=display
        )


async def test_service_offerings_fields_and_visibility(api: Api) -> None:
    count, items = await listed(api, "listServiceOfferings", api.user)
    assert count == 5
    check_items("listServiceOfferings", items)
    assert items[0]["storagetype"] == "shared" and items[0]["iscustomized"] is False
    other = await _other_domain(api)
    customers = await _service(api, "customers-only")
    await _detail(
        api,
        service_offering_details,
        "service_offering_id",
        customers,
        "domainid",
        str(api.user.domain_id),
    )
    await _detail(api, service_offering_details, "service_offering_id", customers, "gpu", "none")
    await _detail(
        api,
        service_offering_details,
        "service_offering_id",
        customers,
        "secret",
        "x",
        display=False,
    )
    hidden = await _service(api, "other-only")
    await _detail(
        api, service_offering_details, "service_offering_id", hidden, "domainid", str(other)
    )
    for who, expected in ((api.user, 6), (api.domain_admin, 6), (api.admin, 7)):
        assert (await listed(api, "listServiceOfferings", who))[0] == expected
    _, (mine,) = await listed(api, "listServiceOfferings", api.user, name="customers-only")
    check_items("listServiceOfferings", [mine])
    assert mine["domainid"] == api.user.domain_uuid and mine["domain"] == "Customers"
    assert mine["serviceofferingdetails"] == {"gpu": "none"}
    _, (same,) = await listed(api, "listServiceOfferings", api.admin, name="customers-only")
    assert same["serviceofferingdetails"] == {"gpu": "none", "secret": "x"}
    by_domain = await listed(api, "listServiceOfferings", api.admin, domainid=api.user.domain_uuid)
    assert [o["name"] for o in by_domain[1]] == ["customers-only"]
    # The deploy wizard names the owner (domainid with account): what that owner may use.
    root = api.admin.domain_uuid
    as_owner = await listed(api, "listServiceOfferings", api.admin, domainid=root, account="admin")
    assert as_owner[0] == 5 and "customers-only" not in [o["name"] for o in as_owner[1]]
    for_alice = await listed(
        api, "listServiceOfferings", api.admin, domainid=api.user.domain_uuid, account="alice"
    )
    assert for_alice[0] == 6 and "other-only" not in [o["name"] for o in for_alice[1]]
    # Others may name their domain or one above it, which narrows nothing.
    assert (await listed(api, "listServiceOfferings", api.user, domainid=root))[0] == 6
    async with api.db.engine.begin() as conn:
        other_uuid = await conn.scalar(
            domain.select().with_only_columns(domain.c.uuid).where(domain.c.id == other)
        )
    reply = await api.signed("listServiceOfferings", api.user, domainid=other_uuid)
    assert reply.error("listserviceofferingsresponse") == (
        531,
        4365,
        "The account:alice does not fall in the same domain hierarchy as the service offering",
    )


async def test_offerings_below_the_domain_need_isrecursive(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        team = await create_child_domain(conn, "Team", api.user.domain_id, 2, utc_now())
    below = await _service(api, "team-only")
    await _detail(
        api, service_offering_details, "service_offering_id", below, "domainid", str(team)
    )
    dadmin = api.domain_admin
    assert (await listed(api, "listServiceOfferings", dadmin))[0] == 5
    assert (await listed(api, "listServiceOfferings", dadmin, isrecursive="true"))[0] == 6
    assert (await listed(api, "listServiceOfferings", api.admin))[0] == 6
    reply = await api.signed("listServiceOfferings", api.user, isrecursive="true")
    assert reply.error("listserviceofferingsresponse") == (
        431,
        4350,
        "Only ROOT admins and Domain admins can list service offerings with isrecursive=true",
    )


async def test_service_offering_filters(api: Api) -> None:
    await _service(api, "retired", state="Inactive")
    await _service(api, "router", system_use=True, vm_type="domainrouter")
    assert (await listed(api, "listServiceOfferings", api.admin))[0] == 5
    assert (await listed(api, "listServiceOfferings", api.admin, state="inactive"))[0] == 1
    assert (await listed(api, "listServiceOfferings", api.admin, state="all"))[0] == 6
    _, system = await listed(api, "listServiceOfferings", api.admin, issystem="true")
    assert [o["name"] for o in system] == ["router"]
    assert system[0]["issystem"] is True and system[0]["systemvmtype"] == "domainrouter"
    assert (
        await listed(
            api, "listServiceOfferings", api.admin, issystem="true", systemvmtype="consoleproxy"
        )
    )[0] == 0
    reply = await api.signed("listServiceOfferings", api.user, issystem="true")
    assert reply.error("listserviceofferingsresponse") == (
        431,
        4350,
        "Only ROOT admins can access system offerings.",
    )
    reply = await api.signed("listServiceOfferings", api.user, state="gone")
    assert reply.error("listserviceofferingsresponse") == (431, -1, "Invalid state value: gone")
    # keyword matches the display text too.
    assert (await listed(api, "listServiceOfferings", api.user, keyword="vCPU"))[0] == 3
    assert (await listed(api, "listServiceOfferings", api.user, name="Large VM"))[0] == 1
    assert (await listed(api, "listServiceOfferings", api.user, storagetype="local"))[0] == 0


async def test_service_offerings_a_vm_can_scale_to(api: Api) -> None:
    catalog = api.seed.catalog
    user = api.user
    async with api.db.engine.begin() as conn:
        vm_id = await allocate(conn, VM_INSTANCE_SEQ)
        await insert_row(
            conn,
            vm_instance,
            id=vm_id,
            name="web-1",
            uuid=new_uuid(),
            instance_name="i-4-1-VM",
            state="Stopped",
            guest_os_id=GUEST_OS_UBUNTU_2204,
            data_center_id=api.seed.infrastructure.zone_id,
            vnc_password="x",
            created=utc_now(),
            type="User",
            vm_type="User",
            account_id=user.account_id,
            domain_id=user.domain_id,
            service_offering_id=catalog.small_offering_id,
        )
        vm_uuid = await conn.scalar(
            vm_instance.select()
            .with_only_columns(vm_instance.c.uuid)
            .where(vm_instance.c.id == vm_id)
        )
    _, items = await listed(api, "listServiceOfferings", user, virtualmachineid=vm_uuid)
    assert "Small VM" not in [o["name"] for o in items] and len(items) == 4
    reply = await api.signed("listServiceOfferings", api.domain_admin, virtualmachineid=vm_uuid)
    assert reply.status == 200
    other = await _other_domain(api)
    async with api.db.engine.begin() as conn:
        await conn.execute(
            vm_instance.update()
            .where(vm_instance.c.id == vm_id)
            .values(account_id=1, domain_id=other)
        )
    reply = await api.signed("listServiceOfferings", user, virtualmachineid=vm_uuid)
    assert reply.error("listserviceofferingsresponse") == (
        531,
        4365,
        "Caller does not have permission to operate with provided resource.",
    )


async def test_service_offerings_paging_and_bad_input(api: Api) -> None:
    await check_paging(api, "listServiceOfferings", api.user)
    await check_bad_input(api, "listServiceOfferings", api.user)


async def test_disk_offerings(api: Api) -> None:
    count, items = await listed(api, "listDiskOfferings", api.user)
    # Compute-only disk offerings (one per compute offering) are never listed.
    assert count == 6 and items[0]["name"] == "Small" and items[0]["disksize"] == 5
    check_items("listDiskOfferings", items)
    async with api.db.engine.begin() as conn:
        hidden = await insert_row(
            conn,
            disk_offering,
            name="ops-only",
            uuid=new_uuid(),
            display_text="ops",
            disk_size=1024**3,
            created=utc_now(),
            state="Active",
            display_offering=False,
        )
        dedicated = await insert_row(
            conn,
            disk_offering,
            name="other-fast",
            uuid=new_uuid(),
            display_text="fast",
            disk_size=1024**3,
            created=utc_now(),
            state="Active",
            tags="ssd",
            min_iops=100,
            max_iops=500,
            customized_iops=False,
        )
    await _detail(
        api,
        disk_offering_details,
        "offering_id",
        dedicated,
        "domainid",
        str(await _other_domain(api)),
    )
    # Not-for-display offerings are still listed (upstream reads the flag only for a domainid).
    assert (await listed(api, "listDiskOfferings", api.user))[0] == 7
    _, all_items = await listed(api, "listDiskOfferings", api.admin)
    assert [o["name"] for o in all_items][-2:] == ["ops-only", "other-fast"]
    check_items("listDiskOfferings", all_items)
    fast = all_items[-1]
    assert fast["domain"] == "Other" and fast["tags"] == "ssd" and fast["miniops"] == 100
    assert fast["iscustomizediops"] is False and all_items[-2]["displayoffering"] is False
    assert (await listed(api, "listDiskOfferings", api.user, keyword="custom"))[0] == 2
    assert (await listed(api, "listDiskOfferings", api.admin, id=fast["id"]))[1] == [fast]
    assert hidden
    # A domainid lists that domain's own offerings, whatever else is asked.
    other = (await listed(api, "listDomains", api.admin, name="Other"))[1][0]["id"]
    assert (await listed(api, "listDiskOfferings", api.admin, domainid=other, keyword="zz"))[1] == [
        fast
    ]
    customers = api.user.domain_uuid
    assert (await listed(api, "listDiskOfferings", api.user, domainid=customers))[0] == 0
    # With an owner named (the deploy wizard), what that owner may use: not Other's offering.
    root = api.admin.domain_uuid
    owned = await listed(api, "listDiskOfferings", api.admin, domainid=root, account="admin")
    assert owned[0] == 7 and "other-fast" not in [o["name"] for o in owned[1]]
    reply = await api.signed("listDiskOfferings", api.user, domainid=other)
    assert reply.error("listdiskofferingsresponse") == (
        531,
        4365,
        "The account:alice does not fall in the same domain hierarchy as the disk offering",
    )


@pytest.mark.parametrize("command", ["listDiskOfferings"])
async def test_disk_offerings_paging_and_bad_input(api: Api, command: str) -> None:
    await check_paging(api, command, api.domain_admin)
    await check_bad_input(api, command, api.domain_admin)
