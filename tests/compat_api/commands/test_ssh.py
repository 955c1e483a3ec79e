"""listSSHKeyPairs against a live server on both backends: shape, scoping, filters, errors."""

from __future__ import annotations

from typing import Any

from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.seed_identity import Credentials
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import ssh_keypairs, table
from tests.compat_api.commands.conformance import (
    UNKNOWN,
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.commands.test_tags import project_of
from tests.compat_api.conftest import Api

ROOT = "listsshkeypairsresponse"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn0dummykeymaterialforthetests demo"


async def _keypair(api: Api, owner: int, domain_id: int, name: str, fingerprint: str) -> str:
    uuid = new_uuid()
    async with api.db.engine.begin() as conn:
        await insert_row(
            conn,
            ssh_keypairs,
            uuid=uuid,
            account_id=owner,
            domain_id=domain_id,
            keypair_name=name,
            fingerprint=fingerprint,
            public_key=PUBLIC_KEY,
        )
    return uuid


async def _of(api: Api, who: Credentials, name: str, fingerprint: str) -> str:
    return await _keypair(api, who.account_id, who.domain_id, name, fingerprint)


async def _seed(api: Api) -> dict[str, str]:
    return {
        "laptop": await _of(api, api.user, "laptop", "aa:bb:cc:01"),
        "ci": await _of(api, api.user, "ci-runner", "aa:bb:cc:02"),
        "ops": await _of(api, api.domain_admin, "ops", "dd:ee:ff:03"),
        "root": await _of(api, api.admin, "root-key", "dd:ee:ff:04"),
    }


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


async def test_keypairs_shape_order_and_paging(api: Api) -> None:
    made = await _seed(api)
    count, items = await listed(api, "listSSHKeyPairs", api.admin, listall="true")
    assert count == 4 and _names(items) == ["root-key", "ops", "ci-runner", "laptop"]
    check_items("listSSHKeyPairs", items)
    assert items[3] == {
        "id": made["laptop"],
        "name": "laptop",
        "account": "alice",
        "domainid": api.user.domain_uuid,
        "domain": "Customers",
        "fingerprint": "aa:bb:cc:01",
        "hasannotations": False,
    }
    reply = await api.signed("listSSHKeyPairs", api.admin, listall="true")
    assert "publickey" not in reply.text and "privatekey" not in reply.text
    assert PUBLIC_KEY not in reply.text
    await check_paging(api, "listSSHKeyPairs", api.admin, listall="true")
    await check_bad_input(api, "listSSHKeyPairs", api.admin, listall="true")


async def test_keypairs_scoping(api: Api) -> None:
    made = await _seed(api)
    assert _names((await listed(api, "listSSHKeyPairs", api.user, listall="true"))[1]) == [
        "ci-runner",
        "laptop",
    ]
    subtree = await listed(api, "listSSHKeyPairs", api.domain_admin, listall="true")
    assert _names(subtree[1]) == ["ops", "ci-runner", "laptop"]
    assert _names((await listed(api, "listSSHKeyPairs", api.domain_admin))[1]) == ["ops"]
    assert _names((await listed(api, "listSSHKeyPairs", api.admin))[1]) == ["root-key"]
    # Someone else's key pair by id is simply not in the caller's list.
    assert await listed(api, "listSSHKeyPairs", api.user, id=made["root"]) == (0, [])
    refused = await api.signed(
        "listSSHKeyPairs", api.user, account="admin", domainid=api.admin.domain_uuid
    )
    assert refused.status == 531


async def test_keypairs_filters(api: Api) -> None:
    made = await _seed(api)

    async def names(**params: Any) -> list[str]:
        return _names(
            (await listed(api, "listSSHKeyPairs", api.admin, listall="true", **params))[1]
        )

    assert await names(name="laptop") == ["laptop"]
    assert await names(fingerprint="dd:ee:ff:03") == ["ops"]
    assert await names(keyword="runner") == ["ci-runner"]
    assert await names(keyword="dd:ee") == ["root-key", "ops"]
    assert await names(id=made["ci"]) == ["ci-runner"]
    assert await names(name="nope") == []


async def test_keypairs_annotations_and_projects(api: Api) -> None:
    made = await _seed(api)
    async with api.db.engine.begin() as conn:
        await insert_row(
            conn,
            table("annotations"),
            uuid=new_uuid(),
            annotation="rotate soon",
            entity_uuid=made["laptop"],
            entity_type="SSH_KEYPAIR",
            user_uuid=api.admin.user_uuid,
            created=utc_now(),
            admins_only=True,
        )
    by_admin = await listed(api, "listSSHKeyPairs", api.admin, name="laptop", listall="true")
    assert by_admin[1][0]["hasannotations"] is True
    by_owner = await listed(api, "listSSHKeyPairs", api.user, name="laptop")
    assert by_owner[1][0]["hasannotations"] is False  # admin-only notes stay hidden
    project, owner = await project_of(api, api.user, "build-farm")
    await _keypair(api, owner, api.user.domain_id, "deploy", "11:22:33:44")
    assert "deploy" not in _names((await listed(api, "listSSHKeyPairs", api.user))[1])
    _, (item,) = await listed(api, "listSSHKeyPairs", api.user, projectid=project)
    assert item["projectid"] == project and item["project"] == "build-farm"
    assert "account" not in item


async def test_keypairs_bad_input(api: Api) -> None:
    reply = await api.signed("listSSHKeyPairs", api.user, id=UNKNOWN)
    assert reply.error(ROOT) == (
        431,
        9999,
        "Unable to execute API command listsshkeypairs due to invalid value. Invalid parameter "
        f"id value={UNKNOWN} due to incorrect long value format, or entity does not exist or due "
        "to incorrect parameter annotation for the field in api cmd class.",
    )
    unknown_domain = await api.signed("listSSHKeyPairs", api.admin, domainid=UNKNOWN)
    assert unknown_domain.error(ROOT)[:2] == (431, 9999)
    huge = await api.signed("listSSHKeyPairs", api.user, page=1, pagesize=501)
    assert huge.error(ROOT) == (
        431,
        4350,
        "Page size can't exceed max allowed page size value: 500",
    )
