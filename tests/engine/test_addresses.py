"""associateIpAddress / disassociateIpAddress (engine jobs) and listPublicIpAddresses through
the live API on SQLite and MariaDB: claims from the seeded public range, counts, zone
capacity, usage and events; refusals at once; no address handed out twice under
concurrency, and a limit that holds under concurrency too."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, update

from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import event, op_host_capacity, usage_event, user_ip_address
from tests.compat_api.conftest import Api, Reply
from tests.engine.deploy_helpers import counts, rows, set_limit
from tests.engine.test_vm_power import stopped_vm, wait_job

PUBLIC_IP = 4


async def ip_capacity(api: Api) -> int:
    query = select(op_host_capacity.c.used_capacity).where(
        op_host_capacity.c.capacity_type == PUBLIC_IP, op_host_capacity.c.host_id.is_(None)
    )
    return int((await rows(api, query))[0][0])


async def ip_row(api: Api, uuid: str) -> Any:
    return (await rows(api, select(user_ip_address).where(user_ip_address.c.uuid == uuid)))[0]


async def associate(api: Api, who: Credentials, **params: Any) -> Reply:
    params.setdefault("zoneid", api.seed.infrastructure.zone_uuid)
    return await api.signed("associateIpAddress", who, **params)


async def associated(api: Api, who: Credentials) -> dict[str, Any]:
    reply = await associate(api, who)
    assert reply.status == 200, reply.text
    result = await wait_job(api, reply.inner("associateipaddressresponse")["jobid"], who)
    assert result["jobstatus"] == 1, result
    return dict(result["jobresult"]["ipaddress"])


async def ip_history(api: Api, ip_id: int) -> tuple[list[str], list[tuple[str, str]]]:
    """(usage event types, (event type, state) pairs) of one address, oldest first."""
    usage = await rows(
        api,
        select(usage_event.c.type)
        .where(usage_event.c.resource_id == ip_id, usage_event.c.type.like("NET.%"))
        .order_by(usage_event.c.id),
    )
    events = await rows(
        api,
        select(event.c.type, event.c.state)
        .where(event.c.resource_id == ip_id, event.c.resource_type == "IpAddress")
        .order_by(event.c.id),
    )
    return [str(u) for (u,) in usage], [(str(t), str(s)) for t, s in events]


async def test_associate_and_list(api: Api) -> None:
    user = api.user
    before, capacity = await counts(api, user.account_id), await ip_capacity(api)
    reply = await associate(api, user)
    accepted = reply.inner("associateipaddressresponse")
    assert list(accepted) == ["id", "jobid"]
    result = await wait_job(api, accepted["jobid"], user)
    assert result["jobinstancetype"] == "IpAddress" and result["jobinstanceid"] == accepted["id"]
    shown = result["jobresult"]["ipaddress"]
    assert (shown["id"], shown["state"], shown["account"]) == (
        accepted["id"],
        "Allocated",
        user.account_name,
    )
    assert shown["forvirtualnetwork"] is True and shown["issourcenat"] is False
    assert "vlanid" not in shown  # the user's view
    row = await ip_row(api, accepted["id"])
    assert row.allocated is not None and row.account_id == user.account_id
    assert (await counts(api, user.account_id))["public_ip"] == before["public_ip"] + 1
    assert await ip_capacity(api) == capacity + 1
    listed = await api.signed("listPublicIpAddresses", user)
    assert listed.inner("listpublicipaddressesresponse")["publicipaddress"] == [shown]
    admin_view = await api.signed("listPublicIpAddresses", api.admin, id=accepted["id"])
    assert "vlanid" in admin_view.inner("listpublicipaddressesresponse")["publicipaddress"][0]


async def test_release(api: Api) -> None:
    user = api.user
    before, capacity = await counts(api, user.account_id), await ip_capacity(api)
    claimed = await associated(api, user)
    release = await api.signed("disassociateIpAddress", user, id=claimed["id"])
    done = await wait_job(api, release.inner("disassociateipaddressresponse")["jobid"], user)
    assert done["jobstatus"] == 1 and done["jobresult"] == {"success": True}
    row = await ip_row(api, claimed["id"])
    assert (row.state, row.account_id, row.allocated) == ("Free", None, None)
    assert await counts(api, user.account_id) == before
    assert await ip_capacity(api) == capacity
    usage, events = await ip_history(api, row.id)
    assert usage == ["NET.IPASSIGN", "NET.IPRELEASE"]
    assert events == [
        ("NET.IPASSIGN", "Created"),
        ("NET.IPASSIGN", "Scheduled"),
        ("NET.IPASSIGN", "Started"),
        ("NET.IPASSIGN", "Completed"),
        ("NET.IPRELEASE", "Scheduled"),
        ("NET.IPRELEASE", "Started"),
        ("NET.IPRELEASE", "Completed"),
    ]


async def test_thirty_concurrent_claims_get_distinct_addresses(api: Api) -> None:
    admin = api.admin
    before, capacity = await counts(api, admin.account_id), await ip_capacity(api)
    results = await asyncio.gather(*(associated(api, admin) for _ in range(30)))
    addresses = [r["ipaddress"] for r in results]
    assert len(set(addresses)) == 30
    owned = await rows(
        api,
        select(user_ip_address.c.public_ip_address).where(
            user_ip_address.c.account_id == admin.account_id, user_ip_address.c.state == "Allocated"
        ),
    )
    assert sorted(a for (a,) in owned) == sorted(addresses)
    assert (await counts(api, admin.account_id))["public_ip"] == before["public_ip"] + 30
    assert await ip_capacity(api) == capacity + 30


async def test_the_limit_holds_under_concurrency(api: Api) -> None:
    user = api.user
    already = (await counts(api, user.account_id))["public_ip"]
    await set_limit(api, "public_ip", already + 4, account_id=user.account_id)
    replies = await asyncio.gather(*(associate(api, user) for _ in range(10)))
    accepted = [r for r in replies if r.status == 200]
    refused = [r.error("associateipaddressresponse") for r in replies if r.status != 200]
    assert len(accepted) == 4
    assert {(code, cs) for code, cs, _ in refused} == {(535, 4370)}
    assert "Maximum number of resources of type 'public_ip'" in refused[0][2]
    for reply in accepted:
        await wait_job(api, reply.inner("associateipaddressresponse")["jobid"], user)
    assert (await counts(api, user.account_id))["public_ip"] == already + 4


async def test_refusals_at_once(api: Api) -> None:
    mine = await associated(api, api.admin)
    release = await api.signed("disassociateIpAddress", api.user, id=mine["id"])
    assert release.error("disassociateipaddressresponse") == (
        531,
        4365,
        "Caller does not have permission to operate with provided resource.",
    )
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user_ip_address).where(user_ip_address.c.uuid == mine["id"]).values(source_nat=1)
        )
    nat = await api.signed("disassociateIpAddress", api.admin, id=mine["id"])
    assert nat.error("disassociateipaddressresponse") == (
        431,
        -1,
        "ip address is used for source nat purposes and can not be disassociated.",
    )
    free = await rows(
        api, select(user_ip_address.c.uuid).where(user_ip_address.c.state == "Free").limit(1)
    )
    not_allocated = await api.signed("disassociateIpAddress", api.admin, id=free[0][0])
    assert not_allocated.status == 431
    shared = await api.signed(
        "associateIpAddress", api.user, networkid=api.seed.networking.guest_network_uuid
    )
    code, _, text = shared.error("associateipaddressresponse")
    assert code == 431 and text.startswith("IP can be associated with guest network of 'shared'")
    nowhere = await api.signed("associateIpAddress", api.user)
    assert nowhere.error("associateipaddressresponse")[0] == 431
    unknown = await api.signed(
        "disassociateIpAddress", api.user, id="0b6b8a2e-0000-4000-8000-000000000000"
    )
    assert unknown.status == 431


async def test_list_filters(api: Api) -> None:
    user = api.user
    first = await associated(api, user)
    second = await associated(api, user)
    by_address = await api.signed("listPublicIpAddresses", user, ipaddress=second["ipaddress"])
    found = by_address.inner("listpublicipaddressesresponse")["publicipaddress"]
    assert [i["id"] for i in found] == [second["id"]]
    both = await api.signed("listPublicIpAddresses", user)
    listed = both.inner("listpublicipaddressesresponse")
    assert listed["count"] == 2
    assert [i["id"] for i in listed["publicipaddress"]] == [first["id"], second["id"]]
    none = await api.signed("listPublicIpAddresses", user, issourcenat="true")
    assert none.inner("listpublicipaddressesresponse") == {}
    free = await api.signed(
        "listPublicIpAddresses", user, allocatedonly="false", pagesize=5, page=1
    )
    page = free.inner("listpublicipaddressesresponse")
    assert (
        page["count"] == api.seed.networking.public_ip_count and len(page["publicipaddress"]) == 5
    )
    assert {i["state"] for i in page["publicipaddress"]} <= {"Free", "Allocated"}
    free_only = await api.signed("listPublicIpAddresses", user, state="free")
    assert free_only.inner("listpublicipaddressesresponse")["count"] == page["count"] - 2
    bad = await api.signed("listPublicIpAddresses", user, state="Lost")
    assert bad.error("listpublicipaddressesresponse")[2] == "Invalid state: Lost"
    vm = await stopped_vm(api)
    direct = await api.signed("listPublicIpAddresses", user, forvirtualnetwork="false")
    shown = direct.inner("listpublicipaddressesresponse")["publicipaddress"]
    assert vm.ip_address in [i["ipaddress"] for i in shown]
    assert not any(i["forvirtualnetwork"] for i in shown)
    others = await api.signed("listPublicIpAddresses", api.domain_admin)
    assert others.inner("listpublicipaddressesresponse") == {}
