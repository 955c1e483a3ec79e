"""The live server: authentication paths, sessions, envelopes, errors (SQLite and MariaDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from compat_api.signing import sign
from schema_bridge.tables import account, user
from tests.compat_api.conftest import Api

SIG_TEXT = "unable to verify user credentials and/or request signature"


async def test_signed_get_and_post_json_and_xml(api: Api) -> None:
    for method in ("GET", "POST"):
        reply = await api.signed("listZones", method=method)
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert reply.inner("listzonesresponse")["count"] == 1
    xml = await api.signed("listZones", fmt="xml")
    assert xml.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert xml.text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><listzonesresponse cloud-stack-version="4.20.2.0"><count>1</count><zone>'
    )
    assert "X-Request-Id" in xml.headers


async def test_trailing_slash_and_v3(api: Api) -> None:
    reply = await api.signed("listZones", path="/client/api/", v3=True)
    assert reply.status == 200


async def test_expired_v3_is_refused(api: Api) -> None:
    pairs = {
        "command": "listZones",
        "response": "json",
        "apiKey": api.admin.api_key,
        "signatureVersion": "3",
        "expires": (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    pairs["signature"] = sign(pairs.items(), api.admin.secret_key)
    reply = await api.raw("GET", pairs)
    assert reply.status == 401
    assert reply.error("listzonesresponse") == (401, None, SIG_TEXT)


async def test_bad_signature_unknown_key_and_unknown_command(api: Api) -> None:
    bad = await api.signed("listZones", secret="wrong")
    assert bad.status == 401
    assert bad.json == {
        "listzonesresponse": {"uuidList": [], "errorcode": 401, "errortext": SIG_TEXT}
    }
    unknown = await api.signed("listZone")
    assert unknown.json == {
        "errorresponse": {"uuidList": [], "errorcode": 401, "errortext": SIG_TEXT}
    }
    no_key = await api.raw(
        "GET", {"command": "listZones", "response": "json", "apiKey": "nope", "signature": "x"}
    )
    assert no_key.status == 401
    assert bad.headers["X-Description"] == SIG_TEXT


async def test_disabled_user_and_locked_account_are_refused(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user).where(user.c.id == api.user.user_id).values(state="disabled")
        )
    assert (await api.signed("listZones", api.user)).status == 401
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user).where(user.c.id == api.user.user_id).values(state="enabled")
        )
        await conn.execute(
            update(account).where(account.c.id == api.user.account_id).values(state="locked")
        )
    assert (await api.signed("listZones", api.user)).status == 401
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(account).where(account.c.id == api.user.account_id).values(state="enabled")
        )
    assert (await api.signed("listZones", api.user)).status == 200


async def test_api_key_access_switched_off(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user).where(user.c.id == api.user.user_id).values(api_key_access=0)
        )
    assert (await api.signed("listZones", api.user)).status == 401


async def test_role_denies_admin_command_to_user(api: Api) -> None:
    reply = await api.signed("listApis", api.user, name="listHosts")
    assert reply.status == 200
    assert reply.inner("listapisresponse") == {}


async def test_unrecognised_and_malformed_values(api: Api) -> None:
    reply = await api.signed("listZones", page="abc", pagesize="5")
    assert reply.error("listzonesresponse") == (
        431,
        9999,
        "Unable to execute API command listzones due to invalid value abc for parameter page",
    )
    reply = await api.signed("listZones", page="1", pagesize="501")
    assert reply.error("listzonesresponse") == (
        431,
        4350,
        "Page size can't exceed max allowed page size value: 500",
    )
    reply = await api.signed("listZones", id="0d6e5f41-9a7b-4c3d-8e2f-1a0b9c8d7e6f")
    assert reply.status == 431
    assert reply.error("listzonesresponse")[2].startswith(
        "Unable to execute API command listzones due to invalid value. Invalid parameter id value=0d6e5f41"
    )
    reply = await api.signed("listZones", name="a\tb")
    assert reply.error("listzonesresponse") == (
        431,
        9999,
        "Received value containing illegal ASCII non-printable characters for parameter name",
    )
    reply = await api.signed("listZones", **{"tags[0]key": "x"})
    assert reply.status == 430


async def test_non_uuid_for_new_params_is_ignored(api: Api) -> None:
    reply = await api.signed("listZones", ids="not-a-uuid")
    assert reply.status == 200


async def _login(
    api: Api, username: str, password: str, **extra: str
) -> tuple[int, dict[str, object]]:
    reply = await api.raw(
        "POST",
        {
            "command": "login",
            "username": username,
            "password": password,
            "response": "json",
            **extra,
        },
    )
    return reply.status, reply.json


async def test_login_session_and_logout(api: Api) -> None:
    status, body = await _login(api, "admin", "password")
    assert status == 200
    login = body["loginresponse"]
    assert isinstance(login, dict)
    assert list(login)[:8] == [
        "username",
        "userid",
        "domainid",
        "timeout",
        "account",
        "firstname",
        "lastname",
        "type",
    ]
    assert login["type"] == "1" and login["timeout"] == 1800 and login["registered"] == "false"
    # The seeded admin has no timezone: upstream answers UTC, which the 4.18+ UI needs.
    assert (login["timezone"], login["timezoneoffset"]) == ("UTC", "0.0")
    key = str(login["sessionkey"])
    assert len(key) == 27
    with_key = await api.raw("GET", {"command": "listZones", "response": "json", "sessionkey": key})
    assert with_key.status == 200
    without_param = await api.raw("GET", {"command": "listZones", "response": "json"})
    assert without_param.error("listzonesresponse") == (
        401,
        None,
        "unable to verify user credentials",
    )
    # The mismatch destroyed the session, as the real server does.
    again = await api.raw("GET", {"command": "listZones", "response": "json", "sessionkey": key})
    assert again.status == 401


async def test_session_unknown_command_texts(api: Api) -> None:
    _, body = await _login(api, "admin", "password")
    key = str(body["loginresponse"]["sessionkey"])  # type: ignore[index]
    reply = await api.raw("GET", {"command": "listZone", "response": "json", "sessionkey": key})
    assert reply.error("errorresponse") == (432, 9999, "Unknown API command: listZone")
    api.client.session.cookie_jar.clear()
    _, body = await _login(api, api.user.username, api.user.password, domain=api.user.domain_path)
    key = str(body["loginresponse"]["sessionkey"])  # type: ignore[index]
    reply = await api.raw("GET", {"command": "listZone", "response": "json", "sessionkey": key})
    assert reply.error("errorresponse") == (
        432,
        9999,
        f"The API [listZone] does not exist or is not available for the account for user id [{api.user.user_uuid}].",
    )


async def test_login_failures(api: Api) -> None:
    status, body = await _login(api, "admin", "wrong")
    assert status == 531
    assert body == {
        "loginresponse": {
            "uuidList": [],
            "errorcode": 531,
            "errortext": "Failed to authenticate user admin in domain 1; please provide valid credentials",
        }
    }
    status, body = await _login(api, "admin", "password", domain="/nowhere")
    assert body["loginresponse"]["errortext"] == "Unable to find the domain from the path /nowhere/"  # type: ignore[index]
    status, body = await _login(api, "admin", "password", domainid="not valid")
    assert status == 401
    get = await api.raw(
        "GET", {"command": "login", "username": "admin", "password": "password", "response": "json"}
    )
    assert (get.status, get.text) == (405, "Please use HTTP POST to authenticate using this API")


async def test_logout_without_session(api: Api) -> None:
    reply = await api.raw("POST", {"command": "logout", "response": "json"})
    assert reply.status == 431
    assert reply.json == {
        "logoutresponse": {
            "uuidList": [],
            "errorcode": 431,
            "cserrorcode": 9999,
            "errortext": "Session not found for the logout process.",
        }
    }


async def test_logout_with_session_clears_cookies(api: Api) -> None:
    await _login(api, "admin", "password")
    reply = await api.raw("POST", {"command": "logout", "response": "json"})
    assert reply.json == {"logoutresponse": {"description": "success"}}
    assert any("Max-Age=0" in c for c in reply.headers.getall("Set-Cookie"))
