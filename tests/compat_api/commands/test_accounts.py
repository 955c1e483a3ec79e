"""listAccounts, listUsers, getUserKeys, registerUserKeys and listResourceLimits against a live
server on both backends: shapes, scoping, limits, key handling and CloudStack's errors."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from compat_api.signing import sign
from schema_bridge import encryption
from schema_bridge.tables import event, user
from tests.compat_api.commands.conformance import (
    UNKNOWN,
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api
from tests.conftest import TEST_ENCRYPTION_KEY

SIG_TEXT = "unable to verify user credentials and/or request signature"
DENIED = (531, 4365, "Caller does not have permission to operate with provided resource.")


def _names(items: list[dict[str, object]], key: str = "name") -> list[object]:
    return [item[key] for item in items]


# --- listAccounts ---------------------------------------------------------------------


async def test_list_accounts_shape_and_paging(api: Api) -> None:
    count, items = await listed(api, "listAccounts", api.admin, listall="true")
    assert count == 3
    assert _names(items) == ["admin", "customers-admin", "alice"]  # system is never listed
    check_items("listAccounts", items)
    await check_paging(api, "listAccounts", api.admin, listall="true")
    await check_bad_input(api, "listAccounts", api.admin, listall="true")


async def test_list_accounts_scoping(api: Api) -> None:
    assert _names((await listed(api, "listAccounts", api.user, listall="true"))[1]) == ["alice"]
    assert _names((await listed(api, "listAccounts", api.domain_admin))[1]) == ["customers-admin"]
    both = ["customers-admin", "alice"]
    assert _names((await listed(api, "listAccounts", api.domain_admin, listall="true"))[1]) == both
    assert _names((await listed(api, "listAccounts", api.admin))[1]) == ["admin"]
    in_domain = await listed(api, "listAccounts", api.admin, domainid=api.user.domain_uuid)
    assert _names(in_domain[1]) == both
    by_id = await listed(api, "listAccounts", api.domain_admin, id=api.user.account_uuid)
    assert _names(by_id[1]) == ["alice"]
    other = await api.signed("listAccounts", api.user, id=api.domain_admin.account_uuid)
    assert other.error("listaccountsresponse") == DENIED
    root = await api.signed("listAccounts", api.domain_admin, domainid=api.admin.domain_uuid)
    assert root.error("listaccountsresponse") == (
        531,
        4365,
        f"Account customers-admin does not have permission to operate within domain "
        f"id={api.admin.domain_uuid}",
    )


async def test_list_accounts_filters(api: Api) -> None:
    named = await listed(api, "listAccounts", api.admin, listall="true", name="alice")
    assert _names(named[1]) == ["alice"]
    keyword = await listed(api, "listAccounts", api.admin, listall="true", keyword="custom")
    assert _names(keyword[1]) == ["customers-admin"]
    typed = await listed(api, "listAccounts", api.admin, listall="true", accounttype=2)
    assert _names(typed[1]) == ["customers-admin"]
    assert await listed(api, "listAccounts", api.admin, listall="true", state="disabled") == (0, [])


async def test_list_accounts_limits_and_counts(api: Api) -> None:
    _, items = await listed(api, "listAccounts", api.admin, listall="true")
    admin, domain_admin, alice = items
    assert admin["vmlimit"] == "Unlimited" and admin["vmavailable"] == "Unlimited"
    assert admin["roletype"] == "Admin" and admin["accounttype"] == 1
    # No resource_limit rows: the max.account.* defaults apply.
    assert domain_admin["vmlimit"] == "20" and domain_admin["cpulimit"] == "40"
    assert domain_admin["memorylimit"] == "40960" and domain_admin["primarystoragelimit"] == "200"
    assert domain_admin["secondarystorageavailable"] == "400.0"
    assert alice["vmlimit"] == "20" and alice["iplimit"] == "10" and alice["memorylimit"] == "81920"
    assert alice["templatetotal"] == 1 and alice["templateavailable"] == "9"
    assert alice["primarystoragelimit"] == "1000" and alice["primarystoragetotal"] == 0
    assert alice["secondarystoragetotal"] == pytest.approx(1.4648438)
    assert alice["secondarystorageavailable"] == "398.53516"
    assert alice["domainpath"] == "ROOT/Customers" and alice["roletype"] == "User"
    assert [u["username"] for u in alice["user"]] == ["alice"]


async def test_list_accounts_details(api: Api) -> None:
    _, (item,) = await listed(api, "listAccounts", api.user, details="min")
    assert "vmlimit" not in item and item["secondarystoragetotal"] == 0.0
    reply = await api.signed("listAccounts", api.user, details="all,bogus")
    assert reply.error("listaccountsresponse") == (
        431,
        4350,
        "The details parameter contains a non permitted value. The allowed values are "
        "[all, resource, min]",
    )


# --- listUsers ------------------------------------------------------------------------


async def test_list_users_shape_scoping_and_paging(api: Api) -> None:
    count, items = await listed(api, "listUsers", api.admin, listall="true")
    assert count == 3 and _names(items, "username") == ["admin", "customers-admin", "alice"]
    check_items("listUsers", items)
    assert items[2]["roletype"] == "User" and items[2]["accounttype"] == 0
    assert items[2]["iscallerchilddomain"] is True and items[0]["iscallerchilddomain"] is False
    await check_paging(api, "listUsers", api.admin, listall="true")
    await check_bad_input(api, "listUsers", api.admin, listall="true")
    mine = await listed(api, "listUsers", api.domain_admin, listall="true")
    assert _names(mine[1], "username") == ["customers-admin", "alice"]
    alone = await listed(api, "listUsers", api.user, listall="true")
    assert _names(alone[1], "username") == ["alice"]


async def test_list_users_as_the_ui_calls_it(api: Api) -> None:
    for who in (api.admin, api.domain_admin, api.user):
        count, (item,) = await listed(api, "listUsers", who, id=who.user_uuid, listall="true")
        assert count == 1 and item["id"] == who.user_uuid and item["roletype"]
    reply = await api.signed("listUsers", api.user, id=api.admin.user_uuid, listall="true")
    assert reply.error("listusersresponse") == (
        531,
        4365,
        "Calling user is not authorized to see the user requested by id",
    )


async def test_list_users_filters(api: Api) -> None:
    found = await listed(api, "listUsers", api.admin, listall="true", username="alice")
    assert _names(found[1], "username") == ["alice"]
    keyword = await listed(api, "listUsers", api.admin, listall="true", keyword="example.com")
    assert _names(keyword[1], "username") == ["customers-admin", "alice"]
    by_account = await listed(
        api, "listUsers", api.admin, account="alice", domainid=api.user.domain_uuid
    )
    assert _names(by_account[1], "username") == ["alice"]


async def test_secret_keys_are_never_listed_nor_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [who.secret_key for who in (api.admin, api.domain_admin, api.user)]
    for who in (api.admin, api.domain_admin, api.user):
        for command in ("listUsers", "listAccounts"):
            reply = await api.signed(command, who, listall="true")
            assert reply.status == 200
            assert "secretkey" not in reply.text
            assert not any(secret in reply.text for secret in secrets)
    await api.signed("getUserKeys", api.user, id=api.user.user_uuid)
    fresh = await api.signed("registerUserKeys", api.user, id=api.user.user_uuid)
    secrets.append(fresh.inner("registeruserkeysresponse")["userkeys"]["secretkey"])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(secret in logged for secret in secrets)


# --- getUserKeys / registerUserKeys ----------------------------------------------------


async def test_get_user_keys(api: Api) -> None:
    reply = await api.signed("getUserKeys", api.user, id=api.user.user_uuid)
    assert reply.status == 200
    assert reply.inner("getuserkeysresponse") == {
        "userkeys": {
            "apikey": api.user.api_key,
            "secretkey": api.user.secret_key,
            "apikeyaccess": True,
        }
    }
    for who in (api.admin, api.domain_admin):
        other = await api.signed("getUserKeys", who, id=api.user.user_uuid)
        assert other.inner("getuserkeysresponse")["userkeys"]["secretkey"] == api.user.secret_key


async def test_get_user_keys_refusals(api: Api) -> None:
    root = "getuserkeysresponse"
    for who, target in (
        (api.user, api.domain_admin),
        (api.user, api.admin),
        (api.domain_admin, api.admin),
    ):
        reply = await api.signed("getUserKeys", who, id=target.user_uuid)
        assert reply.status == 531 and reply.error(root) == DENIED
        assert target.secret_key not in reply.text
    missing = await api.signed("getUserKeys", api.user)
    assert missing.error(root) == (
        431,
        9999,
        "Unable to execute API command getuserkeys due to missing parameter id",
    )
    empty = await api.signed("getUserKeys", api.user, id="")
    assert empty.error(root) == (431, 4350, "Invalid value provided for API arg: id")
    unknown = await api.signed("getUserKeys", api.user, id=UNKNOWN)
    assert unknown.error(root)[:2] == (431, 9999)
    assert f"Invalid parameter id value={UNKNOWN}" in unknown.error(root)[2]


async def test_register_user_keys_rotates_keys(api: Api) -> None:
    reply = await api.signed("registerUserKeys", api.user, id=api.user.user_uuid)
    assert reply.status == 200
    keys = reply.inner("registeruserkeysresponse")["userkeys"]
    assert list(keys) == ["apikey", "secretkey"] and len(keys["apikey"]) == 86
    assert keys["apikey"] != api.user.api_key and keys["secretkey"] != api.user.secret_key
    async with api.db.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(user.c.api_key, user.c.secret_key).where(user.c.id == api.user.user_id)
            )
        ).one()
        logged = (
            await conn.execute(select(event).where(event.c.type == "REGISTER.USER.KEY"))
        ).one()
    assert stored.api_key == keys["apikey"] and stored.secret_key != keys["secretkey"]
    assert encryption.decrypt(stored.secret_key, TEST_ENCRYPTION_KEY) == keys["secretkey"]
    assert (logged.account_id, logged.resource_id, logged.resource_type) == (
        api.user.account_id,
        api.user.user_id,
        "User",
    )
    old = await api.signed("listZones", api.user)
    assert old.status == 401 and old.error("listzonesresponse") == (401, None, SIG_TEXT)
    pairs = {"command": "listZones", "response": "json", "apiKey": keys["apikey"]}
    pairs["signature"] = sign(pairs.items(), keys["secretkey"])
    assert (await api.raw("GET", pairs)).status == 200
    _, events = await listed(api, "listEvents", api.admin, listall="true", type="REGISTER.USER.KEY")
    assert events[0]["resourceid"] == api.user.user_uuid and events[0]["resourcename"] == "alice"


async def test_register_user_keys_permissions(api: Api) -> None:
    root = "registeruserkeysresponse"
    for who, target in ((api.user, api.domain_admin), (api.domain_admin, api.admin)):
        reply = await api.signed("registerUserKeys", who, id=target.user_uuid)
        assert reply.error(root) == DENIED
    assert (await api.signed("listZones", api.domain_admin)).status == 200
    by_admin = await api.signed("registerUserKeys", api.domain_admin, id=api.user.user_uuid)
    assert by_admin.status == 200
    missing = await api.signed("registerUserKeys", api.admin)
    assert missing.error(root) == (
        431,
        9999,
        "Unable to execute API command registeruserkeys due to missing parameter id",
    )


# --- listResourceLimits ----------------------------------------------------------------


async def test_resource_limits_of_an_account(api: Api) -> None:
    count, items = await listed(api, "listResourceLimits", api.user)
    assert count == 17
    check_items("listResourceLimits", items)
    by_name = {item["resourcetypename"]: item for item in items}
    assert by_name["user_vm"]["max"] == 20 and by_name["user_vm"]["resourcetype"] == "0"
    assert by_name["primary_storage"]["max"] == 1000 and by_name["gpu"]["max"] == 20
    assert {item["account"] for item in items} == {"alice"}
    await check_paging(api, "listResourceLimits", api.user)
    one = await listed(api, "listResourceLimits", api.user, resourcetype=9)
    assert [(i["resourcetypename"], i["max"]) for i in one[1]] == [("memory", 81920)]
    named = await listed(api, "listResourceLimits", api.user, resourcetypename="cpu")
    assert [i["max"] for i in named[1]] == [40]
    admin = await listed(api, "listResourceLimits", api.admin)
    assert {i["max"] for i in admin[1]} == {-1}


async def test_resource_limits_of_a_domain_and_named_account(api: Api) -> None:
    _, items = await listed(api, "listResourceLimits", api.admin, domainid=api.user.domain_uuid)
    assert len(items) == 17 and "account" not in items[0]
    # The seed's max.domain.* settings are -1; newer types fall back to built-in defaults.
    assert {i["resourcetypename"]: i["max"] for i in items}["cpu"] == -1
    _, named = await listed(
        api, "listResourceLimits", api.domain_admin, account="alice", domainid=api.user.domain_uuid
    )
    assert {i["account"] for i in named} == {"alice"}
    mine = await listed(
        api, "listResourceLimits", api.user, account="admin", domainid=api.admin.domain_uuid
    )
    assert {i["account"] for i in mine[1]} == {"alice"}


async def test_resource_limits_errors(api: Api) -> None:
    root = "listresourcelimitsresponse"
    bad = await api.signed("listResourceLimits", api.user, resourcetype=99)
    assert bad.error(root) == (431, 4350, "Please specify valid resource type")
    word = await api.signed("listResourceLimits", api.user, resourcetype="abc")
    assert word.error(root) == (
        431,
        9999,
        "Unable to execute API command listresourcelimits due to invalid value abc for "
        "parameter resourcetype",
    )
    alone = await api.signed("listResourceLimits", api.admin, account="alice")
    assert alone.error(root) == (431, 4350, "Account must be specified with domainId parameter")
    nobody = await api.signed(
        "listResourceLimits", api.admin, account="nobody", domainid=api.user.domain_uuid
    )
    assert nobody.error(root) == (
        431,
        4350,
        "Unable to find account by name nobody in domain with specified id",
    )
    outside = await api.signed(
        "listResourceLimits", api.domain_admin, domainid=api.admin.domain_uuid
    )
    assert outside.status == 531
    unknown = await api.signed("listResourceLimits", api.user, domainid=UNKNOWN)
    assert unknown.error(root)[:2] == (431, 9999)


async def test_xml_envelopes(api: Api) -> None:
    accounts = await api.signed("listAccounts", api.user, fmt="xml")
    assert accounts.status == 200
    assert "<count>1</count><account><id>" in accounts.text
    assert "<user><id>" in accounts.text
    assert "<secondarystoragetotal>1.4648438</secondarystoragetotal>" in accounts.text
    keys = await api.signed("getUserKeys", api.user, fmt="xml", id=api.user.user_uuid)
    assert (
        f"<userkeys><apikey>{api.user.api_key}</apikey><secretkey>{api.user.secret_key}"
        "</secretkey><apikeyaccess>true</apikeyaccess></userkeys>"
    ) in keys.text
