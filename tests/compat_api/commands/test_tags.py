"""listTags against a live server on both backends: shape, scoping (projects too), filters."""

from __future__ import annotations

from typing import Any

from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.seed_identity import Credentials
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import account, project_account, projects, resource_tags
from tests.compat_api.commands.conformance import check_items, check_paging, listed
from tests.compat_api.conftest import Api

ROOT = "listtagsresponse"
VM_UUID = "4f0c3a1e-2b7d-4c59-9a8e-1d2f3a4b5c6d"
VOLUME_UUID = "8a9b0c1d-2e3f-4a5b-8c7d-9e0f1a2b3c4d"


async def _tag(api: Api, owner_id: int, domain_id: int, key: str, value: str, **extra: Any) -> None:
    values = {
        "uuid": new_uuid(),
        "key": key,
        "value": value,
        "resource_id": extra.pop("resource_id", 11),
        "resource_uuid": extra.pop("resource_uuid", VM_UUID),
        "resource_type": extra.pop("resource_type", "UserVm"),
        "domain_id": domain_id,
        "account_id": owner_id,
        **extra,
    }
    async with api.db.engine.begin() as conn:
        await insert_row(conn, resource_tags, **values)


async def _tag_of(api: Api, who: Credentials, key: str, value: str, **extra: Any) -> None:
    await _tag(api, who.account_id, who.domain_id, key, value, **extra)


async def project_of(api: Api, member: Credentials, name: str) -> tuple[str, int]:
    """A project in the member's domain (its own account, type 5) with `member` in it."""
    now = utc_now()
    async with api.db.engine.begin() as conn:
        owner = await insert_row(
            conn,
            account,
            account_name=f"PrjAcct-{name}-1",
            uuid=new_uuid(),
            type=5,
            domain_id=member.domain_id,
            state="enabled",
            created=now,
            cleanup_needed=False,
        )
        uuid = new_uuid()
        project_id = await insert_row(
            conn,
            projects,
            name=name,
            uuid=uuid,
            display_text=name,
            project_account_id=owner,
            domain_id=member.domain_id,
            created=now,
            state="Active",
        )
        await insert_row(
            conn,
            project_account,
            account_id=member.account_id,
            user_id=member.user_id,
            account_role="Admin",
            project_id=project_id,
            project_account_id=owner,
            created=now,
        )
    return uuid, owner


async def _seed_tags(api: Api) -> None:
    await _tag_of(api, api.user, "env", "prod", customer="acme")
    await _tag_of(
        api,
        api.user,
        "team",
        "web",
        resource_type="Volume",
        resource_uuid=VOLUME_UUID,
        resource_id=12,
    )
    await _tag_of(api, api.domain_admin, "env", "test", resource_id=21, resource_uuid=new_uuid())
    await _tag_of(api, api.admin, "env", "lab", resource_id=31, resource_uuid=new_uuid())


def _pairs(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["key"], item["value"]) for item in items]


async def test_tags_shape_and_paging(api: Api) -> None:
    await _seed_tags(api)
    count, items = await listed(api, "listTags", api.admin, listall="true")
    assert count == 4
    check_items("listTags", items)
    # Newest resource type name first, then insertion order.
    assert _pairs(items) == [("team", "web"), ("env", "prod"), ("env", "test"), ("env", "lab")]
    prod = items[1]
    assert prod == {
        "key": "env",
        "value": "prod",
        "resourcetype": "UserVm",
        "resourceid": VM_UUID,
        "account": "alice",
        "domainid": api.user.domain_uuid,
        "domain": "Customers",
        "domainpath": "ROOT/Customers",
        "customer": "acme",
    }
    await check_paging(api, "listTags", api.admin, listall="true")


async def test_tags_scoping(api: Api) -> None:
    await _seed_tags(api)
    assert _pairs((await listed(api, "listTags", api.user, listall="true"))[1]) == [
        ("team", "web"),
        ("env", "prod"),
    ]
    subtree = await listed(api, "listTags", api.domain_admin, listall="true")
    assert subtree[0] == 3
    assert _pairs((await listed(api, "listTags", api.admin))[1]) == [("env", "lab")]
    other = await api.signed("listTags", api.user, account="customers-admin")
    assert other.status == 531 and other.error(ROOT)[1] == 4365


async def test_tags_filters(api: Api) -> None:
    await _seed_tags(api)

    async def pairs(**params: Any) -> list[tuple[str, str]]:
        return _pairs((await listed(api, "listTags", api.admin, listall="true", **params))[1])

    assert await pairs(key="team") == [("team", "web")]
    assert await pairs(key="env", value="test") == [("env", "test")]
    assert await pairs(resourcetype="Volume") == [("team", "web")]
    assert await pairs(resourceid=VOLUME_UUID) == [("team", "web")]
    assert await pairs(resourceid="12") == [("team", "web")]
    assert await pairs(customer="acme") == [("env", "prod")]
    assert await pairs(key="missing") == []


async def test_project_tags(api: Api) -> None:
    await _seed_tags(api)
    project, owner = await project_of(api, api.user, "web-shop")
    await _tag(api, owner, api.user.domain_id, "tier", "gold", resource_id=41)
    assert ("tier", "gold") not in _pairs((await listed(api, "listTags", api.user))[1])
    _, (item,) = await listed(api, "listTags", api.user, projectid=project)
    assert item["projectid"] == project and item["project"] == "web-shop"
    assert "account" not in item
    assert _pairs((await listed(api, "listTags", api.user, projectid="-1"))[1]) == [
        ("tier", "gold")
    ]
    assert (await listed(api, "listTags", api.domain_admin, projectid=project))[0] == 1
    both = await api.signed("listTags", api.user, projectid=project, account="alice")
    assert both.error(ROOT) == (431, 4350, "Account and projectId can't be specified together")
    private, _ = await project_of(api, api.domain_admin, "admins-only")
    outsider = await api.signed("listTags", api.user, projectid=private)
    assert outsider.status == 531 and outsider.error(ROOT)[1] == 4365
    bad = await api.signed("listTags", api.admin, pagesize=5)
    assert bad.error(ROOT) == (
        431,
        4350,
        '"page" parameter is required when "pagesize" is specified',
    )
