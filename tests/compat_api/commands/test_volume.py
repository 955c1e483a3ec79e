"""listVolumes against the live server on both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from compat_api.facts import facts_for
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import volumes
from schema_bridge.vm_rows import InsertedVm, VmRequest, insert_vms
from tests.compat_api.commands.conformance import (
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api

CMD = "listVolumes"
ROOT = "listvolumesresponse"
ADMIN_ONLY = ("storage", "storageid", "path", "clusterid", "podid", "displayvolume")


async def _vms(api: Api, who: Credentials, count: int, **extra: Any) -> list[InsertedVm]:
    seed = api.seed
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        **extra,
    )
    return await insert_vms(api.db, count, who, request)


async def _cloud(api: Api) -> dict[str, list[InsertedVm]]:
    return {
        "user": await _vms(api, api.user, 3, states=("Running", "Stopped")),
        "domain_admin": await _vms(api, api.domain_admin, 2, name_prefix="dadm"),
        "admin": await _vms(api, api.admin, 1, name_prefix="root"),
    }


def _check_restricted(items: list[dict[str, Any]]) -> None:
    """check_items for callers who may not see `displayvolume` (a primitive shown to admins)."""
    for item in items:
        assert "displayvolume" not in item
        order = [f.name for f in facts_for(CMD).fields]
        assert list(item) == [name for name in order if name in item]
        check_items(CMD, [_with_display(item, order)])


def _with_display(item: dict[str, Any], order: list[str]) -> dict[str, Any]:
    full = {**item, "displayvolume": True}
    return {name: full[name] for name in order if name in full}


def _vm_ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["virtualmachineid"] for item in items]


async def test_fields_order_types_and_views(api: Api) -> None:
    cloud = await _cloud(api)
    total, items = await listed(api, CMD, api.admin, listall="true")
    assert total == 6
    check_items(CMD, items)
    first, vm = items[0], cloud["user"][0]
    assert (first["name"], first["type"], first["deviceid"]) == (f"ROOT-{vm.id}", "ROOT", 0)
    assert (first["virtualmachineid"], first["vmname"], first["vmstate"]) == (
        vm.uuid, vm.name, "Running",
    )  # fmt: skip
    assert first["size"] == vm.volume_size and first["state"] == "Ready"
    assert first["storage"] == "demo-primary-1" and first["storagetype"] == "shared"
    assert first["serviceofferingname"] == "Small VM" and first["diskofferingname"] == "Small VM"
    assert first["destroyed"] is False and first["isextractable"] is True
    assert first["hypervisor"] == "Simulator" and first["account"] == "alice"
    assert items[1]["vmstate"] == "Stopped"
    for who in (api.user, api.domain_admin):
        _, mine = await listed(api, CMD, who, listall="true")
        _check_restricted(mine)
        assert all(not set(ADMIN_ONLY) & set(item) for item in mine)


async def test_scoping(api: Api) -> None:
    cloud = await _cloud(api)
    uuids = {who: [vm.uuid for vm in vms] for who, vms in cloud.items()}
    for params in ({}, {"listall": "true"}):
        _, items = await listed(api, CMD, api.user, **params)
        assert _vm_ids(items) == uuids["user"]
    _, items = await listed(api, CMD, api.domain_admin)
    assert _vm_ids(items) == uuids["domain_admin"]
    _, items = await listed(api, CMD, api.domain_admin, listall="true")
    assert _vm_ids(items) == uuids["user"] + uuids["domain_admin"]
    _, items = await listed(api, CMD, api.admin)
    assert _vm_ids(items) == uuids["admin"]
    denied = await api.signed(CMD, api.user, domainid=api.admin.domain_uuid)
    assert denied.error(ROOT) == (
        531,
        4365,
        f"Account alice does not have permission to operate within domain id={api.admin.domain_id}",
    )


async def test_filters(api: Api) -> None:
    cloud = await _cloud(api)
    user_vms = cloud["user"]
    _, everything = await listed(api, CMD, api.admin, listall="true")
    by_vm = {item["virtualmachineid"]: item for item in everything}
    first = by_vm[user_vms[0].uuid]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"virtualmachineid": user_vms[1].uuid}, [user_vms[1].uuid]),
        ({"id": first["id"]}, [user_vms[0].uuid]),
        ({"ids": f"{first['id']},{by_vm[user_vms[2].uuid]['id']}"}, [user_vms[0].uuid, user_vms[2].uuid]),
        ({"name": first["name"]}, [user_vms[0].uuid]),
        ({"keyword": f"ROOT-{user_vms[2].id}"}, [user_vms[2].uuid]),
        ({"type": "root", "account": "alice", "domainid": api.user.domain_uuid}, [vm.uuid for vm in user_vms]),
        ({"type": "DATADISK"}, []),
        ({"zoneid": api.seed.infrastructure.zone_uuid}, [vm.uuid for vms in cloud.values() for vm in vms]),
    ]  # fmt: skip
    for params, expected in cases:
        _, items = await listed(api, CMD, api.admin, listall="true", **params)
        assert _vm_ids(items) == expected, params


async def test_destroyed_volume_hides_its_vm(api: Api) -> None:
    [vm] = await _vms(api, api.user, 1)
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(volumes).where(volumes.c.id == vm.volume_id).values(state="Destroy")
        )
    _, [item] = await listed(api, CMD, api.user)
    _check_restricted([item])
    assert item["destroyed"] is True and "virtualmachineid" not in item


async def test_paging_and_bad_input(api: Api) -> None:
    await _cloud(api)
    await check_paging(api, CMD, api.user)
    await check_paging(api, CMD, api.domain_admin, listall="true")
    await check_bad_input(api, CMD, api.user)
    bad = await api.signed(CMD, api.user, virtualmachineid="5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b")
    assert bad.error(ROOT)[:2] == (431, 9999)
    assert "Invalid parameter virtualmachineid value=5e6f7a8b" in bad.error(ROOT)[2]
    none = await api.signed(CMD, api.user, keyword="zzz")
    assert none.status == 200 and none.inner(ROOT) == {}
    xml = await api.signed(CMD, api.user, fmt="xml")
    assert xml.status == 200 and xml.text.count("<volume>") == 3
