"""createTags and deleteTags as engine jobs on a live server (SQLite and MariaDB): the
resource_tags rows CloudStack writes (numeric id + uuid, owner of the resource, customer),
CREATE_TAGS/DELETE_TAGS events, listTags and the resource's own list showing them, and
refusals at once (unknown type or resource, other owners, duplicates, empty values)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import event, resource_tags, volumes
from tests.compat_api.conftest import Api, Reply
from tests.engine.test_vm_power import stopped_vm, wait_job


def tag_params(**pairs: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for index, (key, value) in enumerate(pairs.items()):
        params[f"tags[{index}].key"] = key
        params[f"tags[{index}].value"] = value
    return params


def only_key(key: str) -> dict[str, Any]:
    return {"tags[0].key": key}


async def finished(api: Api, reply: Reply, root: str, who: Credentials) -> dict[str, Any]:
    assert reply.status == 200, reply.text
    assert list(reply.inner(root)) == ["jobid"]
    return await wait_job(api, reply.inner(root)["jobid"], who)


async def tag_rows(api: Api) -> list[Any]:
    async with api.db.engine.connect() as conn:
        return list((await conn.execute(select(resource_tags).order_by(resource_tags.c.id))).all())


async def tagged_vm(api: Api, **pairs: str) -> str:
    vm = await stopped_vm(api)
    reply = await api.signed(
        "createTags", api.user, resourcetype="UserVm", resourceids=vm.uuid, **tag_params(**pairs)
    )
    await finished(api, reply, "createtagsresponse", api.user)
    return vm.uuid


async def test_create_and_list(api: Api) -> None:
    user = api.user
    vm = await stopped_vm(api)
    reply = await api.signed(
        "createTags",
        user,
        resourcetype="uservm",
        resourceids=vm.uuid,
        customer="acme",
        **tag_params(env="prod", team="blue"),
    )
    result = await finished(api, reply, "createtagsresponse", user)
    assert result["jobstatus"] == 1 and result["jobresult"] == {"success": True}
    rows = await tag_rows(api)
    assert [(r.key, r.value, r.resource_type, r.resource_id, r.resource_uuid) for r in rows] == [
        ("env", "prod", "UserVm", vm.id, vm.uuid),
        ("team", "blue", "UserVm", vm.id, vm.uuid),
    ]
    assert {(r.account_id, r.domain_id, r.customer) for r in rows} == {
        (user.account_id, user.domain_id, "acme")
    }
    listed = await api.signed("listTags", user, resourceid=vm.uuid)
    tags = listed.inner("listtagsresponse")["tag"]
    assert [(t["key"], t["value"], t["account"]) for t in tags] == [
        ("env", "prod", "alice"),
        ("team", "blue", "alice"),
    ]
    shown = await api.signed("listVirtualMachines", user, id=vm.uuid)
    vm_tags = shown.inner("listvirtualmachinesresponse")["virtualmachine"][0]["tags"]
    assert {t["key"] for t in vm_tags} == {"env", "team"}
    async with api.db.engine.connect() as conn:
        kinds = (
            await conn.execute(
                select(event.c.type, event.c.state)
                .where(event.c.type == "CREATE_TAGS")
                .order_by(event.c.id)
            )
        ).all()
    assert [tuple(k) for k in kinds] == [
        ("CREATE_TAGS", "Scheduled"),
        ("CREATE_TAGS", "Started"),
        ("CREATE_TAGS", "Completed"),
    ]


async def test_delete_by_key_value_and_all(api: Api) -> None:
    user = api.user
    vm = await tagged_vm(api, env="prod", team="blue")
    mismatch = await api.signed(
        "deleteTags", user, resourcetype="UserVm", resourceids=vm, **tag_params(env="dev")
    )
    assert mismatch.error("deletetagsresponse") == (
        431,
        4350,
        "Unable to find any tags which conform to specified delete parameters.",
    )
    by_key = await api.signed(
        "deleteTags", user, resourcetype="UserVm", resourceids=vm, **only_key("ENV")
    )
    assert (await finished(api, by_key, "deletetagsresponse", user))["jobstatus"] == 1
    assert [r.key for r in await tag_rows(api)] == ["team"]
    everything = await api.signed("deleteTags", user, resourcetype="UserVm", resourceids=vm)
    await finished(api, everything, "deletetagsresponse", user)
    assert await tag_rows(api) == []
    listed = await api.signed("listTags", user, resourceid=vm)
    assert listed.inner("listtagsresponse") == {}


async def test_volume_and_address_tags_show_in_their_lists(api: Api) -> None:
    user = api.user
    vm = await stopped_vm(api)
    async with api.db.engine.connect() as conn:
        root_uuid = str(
            await conn.scalar(select(volumes.c.uuid).where(volumes.c.id == vm.volume_id))
        )
    reply = await api.signed(
        "createTags", user, resourcetype="Volume", resourceids=root_uuid, **tag_params(tier="gold")
    )
    await finished(api, reply, "createtagsresponse", user)
    shown = await api.signed("listVolumes", user, id=root_uuid)
    volume_tags = shown.inner("listvolumesresponse")["volume"][0]["tags"]
    assert [(t["key"], t["resourcetype"]) for t in volume_tags] == [("tier", "Volume")]
    claim = await api.signed("associateIpAddress", user, zoneid=api.seed.infrastructure.zone_uuid)
    ip = claim.inner("associateipaddressresponse")
    await wait_job(api, ip["jobid"], user)
    reply = await api.signed(
        "createTags",
        user,
        resourcetype="PublicIpAddress",
        resourceids=ip["id"],
        **tag_params(role="web"),
    )
    await finished(api, reply, "createtagsresponse", user)
    listed = await api.signed("listPublicIpAddresses", user, id=ip["id"])
    item = listed.inner("listpublicipaddressesresponse")["publicipaddress"][0]
    assert [t["key"] for t in item["tags"]] == ["role"]
    filtered = await api.signed("listPublicIpAddresses", user, **tag_params(role="web"))
    assert filtered.inner("listpublicipaddressesresponse")["count"] == 1


async def test_refusals_at_once(api: Api) -> None:
    user = api.user
    vm = await stopped_vm(api)
    other = await stopped_vm(api, api.admin)
    missing = "d3b1f1a2-0000-4000-8000-000000000000"
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        (
            {"resourcetype": "Spaceship", "resourceids": vm.uuid},
            (431, "Invalid resource type Spaceship"),
        ),
        (
            {"resourcetype": "UserVm", "resourceids": missing},
            (431, f"Unable to find resource by uuid {missing} and type UserVm"),
        ),
        (
            {"resourcetype": "UserVm", "resourceids": other.uuid},
            (531, "Caller does not have permission to operate with provided resource."),
        ),
    ]
    for params, expected in cases:
        reply = await api.signed("createTags", user, **params, **tag_params(env="prod"))
        code, _, text = reply.error("createtagsresponse")
        assert (code, text) == expected
    empty = await api.signed(
        "createTags", user, resourcetype="UserVm", resourceids=vm.uuid, **tag_params(env="")
    )
    assert empty.error("createtagsresponse")[2] == "Value for the key env is either null or empty"
    assert await tag_rows(api) == []


async def test_duplicates_and_other_owners(api: Api) -> None:
    user = api.user
    vm = await tagged_vm(api, env="prod")
    twice = await api.signed(
        "createTags", user, resourcetype="UserVm", resourceids=vm, **tag_params(env="prod")
    )
    assert twice.error("createtagsresponse") == (
        530,
        4250,
        f"tag env already on UserVm with id {vm}",
    )
    other = await stopped_vm(api, api.admin)
    foreign = await api.signed(
        "createTags", api.admin, resourcetype="UserVm", resourceids=other.uuid, **tag_params(a="b")
    )
    await finished(api, foreign, "createtagsresponse", api.admin)
    delete_foreign = await api.signed(
        "deleteTags", user, resourcetype="UserVm", resourceids=other.uuid
    )
    assert delete_foreign.error("deletetagsresponse")[:2] == (531, 4365)
    assert len(await tag_rows(api)) == 2
