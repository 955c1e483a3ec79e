"""The strangler's request path: shadow offers, session rewriting, unknown sessions and
commands, and the backend in the access log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from compat_api import errors, strangler
from compat_api.app import STATE, create_app
from compat_api.commands import build_registry
from compat_api.routing import MirrorCall
from compat_api.settings import Settings
from migrate import routes as store
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api import legacy_upstream as up
from tests.compat_api.conftest import Api, db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

ClientMaker = Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]]
ServerMaker = Callable[..., Coroutine[Any, Any, TestServer]]
IMPLEMENTED = build_registry().names()


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[MirrorCall] = []
        self.fail = fail

    def offer(self, call: MirrorCall) -> None:
        self.calls.append(call)
        if self.fail:
            raise RuntimeError("mirror queue broke")


@pytest.fixture
async def front(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_server: ServerMaker,
    aiohttp_client: ClientMaker,
) -> Api:
    db, seed = seeded_db
    server = await aiohttp_server(up.Replay().app())
    settings = Settings(
        db_url=db_url_of(db),
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=0,
        config_refresh_seconds=0,
        legacy_url=str(server.make_url("/client/api")),
    )
    return Api(await aiohttp_client(create_app(settings, db=db)), seed, db)


async def _route(api: Api, scope: store.Scope, backend: str, shadow: bool = False) -> None:
    spec = store.RouteSpec(scope, backend, shadow=shadow)  # type: ignore[arg-type]
    await store.set_route(api.db, spec, IMPLEMENTED, "test", "strangler test")
    routes = api.client.app[STATE].routes
    assert routes is not None
    await routes.refresh()


async def test_read_only_calls_are_offered_for_shadowing_from_either_primary(front: Api) -> None:
    sink = Sink()
    front.client.app[STATE].shadow = sink
    await _route(front, store.Scope("infra"), "engine", shadow=True)
    reply = await front.signed("listZones", front.user)
    [call] = sink.calls
    assert (call.command, call.primary, call.status) == ("listZones", "engine", 200)
    assert call.body == reply.text.encode() and call.decision.shadow
    assert call.request.raw_query and call.decision.other == "legacy"
    await _route(front, store.Scope("infra"), "legacy", shadow=True)
    front.client.session.cookie_jar.clear()
    reply = await front.signed("listZones", front.user)
    assert (
        reply.text.encode() == up.ZONES_JSON and reply.headers["X-Stackshift-Backend"] == "legacy"
    )
    assert [(c.primary, c.body) for c in sink.calls[1:]] == [("legacy", up.ZONES_JSON)]


async def test_mutating_calls_are_never_offered(front: Api) -> None:
    sink = Sink()
    front.client.app[STATE].shadow = sink
    await _route(front, store.Scope("volume"), "engine", shadow=True)
    reply = await front.signed("createVolume", front.user, name="x")
    assert reply.headers["X-Stackshift-Backend"] == "engine"
    assert sink.calls == []


async def test_a_broken_mirror_never_hurts_the_call(
    front: Api, caplog: pytest.LogCaptureFixture
) -> None:
    front.client.app[STATE].shadow = Sink(fail=True)
    await _route(front, store.Scope("infra"), "engine", shadow=True)
    reply = await front.signed("listZones", front.user)
    assert reply.status == 200
    assert "shadow offer failed for listZones" in caplog.text


async def test_an_unknown_session_goes_to_legacy(front: Api) -> None:
    await _route(front, store.Scope("infra"), "engine")
    reply = await front.raw(
        "GET",
        {"command": "listZones", "response": "json", "sessionkey": "k"},
        cookies={"JSESSIONID": "NOT-OURS", "sessionkey": "k"},
    )
    assert reply.headers["X-Stackshift-Backend"] == "legacy"


async def test_access_log_and_metrics_carry_the_real_backend(
    front: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stackshift.access")
    await front.signed("listZones", front.user)
    front.client.session.cookie_jar.clear()
    await _route(front, store.Scope("infra"), "engine")
    await front.signed("listZones", front.user)
    lines = [r.getMessage() for r in caplog.records if r.name == "stackshift.access"]
    assert "backend=legacy" in lines[0] and "command=listZones" in lines[0]
    assert "backend=engine" in lines[-1]
    metrics = await (await front.client.get("/metrics")).text()
    assert 'backend="legacy"' in metrics and 'backend="engine"' in metrics


async def test_without_legacy_an_unknown_command_gets_the_real_answer(api: Api) -> None:
    # As the real server answers a signed call to a command it does not have.
    reply = await api.signed("addBrocadeVcsDevice", api.user)
    assert reply.headers["X-Stackshift-Backend"] == "engine"
    assert reply.error("errorresponse") == (401, None, errors.SIGNATURE_TEXT)


def test_session_rewrite_touches_only_the_session() -> None:
    assert (
        strangler._param_replaced("command=x&sessionkey=OURS&sessionkeyx=1", "sessionkey", "a/b")
        == "command=x&sessionkey=a%2Fb&sessionkeyx=1"
    )
    assert strangler._param_replaced("", "sessionkey", "k") == ""
    assert (
        strangler._cookie_with("a=1; JSESSIONID=OURS; sessionkey=K1; b=2", "THEIRS", "K2")
        == "a=1; JSESSIONID=THEIRS; sessionkey=K2; b=2"
    )


async def test_route_metric_follows_the_live_table(front: Api) -> None:
    def count(text: str, subsystem: str, backend: str) -> int:
        label = f'stackshift_route_commands{{backend="{backend}",subsystem="{subsystem}"}} '
        lines = [line for line in text.splitlines() if line.startswith(label)]
        return int(float(lines[0].split()[-1])) if lines else 0

    before = await (await front.client.get("/metrics")).text()
    assert count(before, "infra", "engine") == 0 and count(before, "infra", "legacy") > 0
    await _route(front, store.Scope("infra"), "engine")
    after = await (await front.client.get("/metrics")).text()
    implemented = [c for c in build_registry() if c.subsystem == "infra"]
    assert count(after, "infra", "engine") == len(implemented)
    assert count(after, "volume", "engine") == 0


def test_legacy_login_answers_are_read_in_both_formats() -> None:
    from compat_api.session_bridge import _login_fields, cookie_value

    json_body = b'{"loginresponse":{"userid":"u-1","sessionkey":"k/1+","timeout":"1800"}}'
    xml_body = (
        b'<?xml version="1.0" encoding="UTF-8"?><loginresponse cloud-stack-version="4.22.0.0">'
        b"<timeout>1800</timeout><userid>u-1</userid><sessionkey>k/1+&amp;</sessionkey>"
        b"</loginresponse>"
    )
    assert _login_fields(json_body) == {"sessionkey": "k/1+", "userid": "u-1"}
    assert _login_fields(xml_body) == {"sessionkey": "k/1+&", "userid": "u-1"}
    assert _login_fields(b"<html>no</html>") == {}
    cookies = ["sessionkey=abc;HttpOnly;SameSite=Lax", "JSESSIONID=F00; Path=/client; HttpOnly"]
    assert cookie_value(cookies, "JSESSIONID") == "F00"
    assert cookie_value(cookies, "missing") is None


async def test_a_slow_legacy_delays_an_engine_login_briefly_never_fails_it(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_server: ServerMaker,
    aiohttp_client: ClientMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from compat_api import session_bridge

    monkeypatch.setattr(session_bridge, "SIDE_CALL_SECONDS", 0.3)
    db, seed = seeded_db
    server = await aiohttp_server(up.Replay(delay=4).app())
    settings = Settings(
        db_url=db_url_of(db),
        encryption_key=TEST_ENCRYPTION_KEY,
        legacy_url=str(server.make_url("/client/api")),
    )
    api = Api(await aiohttp_client(create_app(settings, db=db)), seed, db)
    await _route(api, store.Scope("account"), "engine")
    who = api.user
    form = {"command": "login", "username": who.username, "password": who.password,
            "domain": who.domain_path, "response": "json"}  # fmt: skip
    started = asyncio.get_running_loop().time()
    reply = await api.raw("POST", form)
    assert reply.status == 200 and asyncio.get_running_loop().time() - started < 2
    assert reply.headers["X-Stackshift-Backend"] == "engine"


async def test_domain_routes_follow_the_caller_by_key_and_by_session(front: Api) -> None:
    child = store.Scope("volume", domain=front.user.domain_uuid)
    await _route(front, child, "engine")
    await _route(front, store.Scope("account"), "engine")  # logins on the engine
    user = await front.signed("listVolumes", front.user)
    front.client.session.cookie_jar.clear()
    admin = await front.signed("listVolumes", front.admin)
    front.client.session.cookie_jar.clear()
    assert user.headers["X-Stackshift-Backend"] == "engine" and user.status == 200
    assert admin.headers["X-Stackshift-Backend"] == "legacy"
    who = front.user
    form = {"command": "login", "username": who.username, "password": who.password,
            "domain": who.domain_path, "response": "json"}  # fmt: skip
    login = await front.raw("POST", form)
    assert login.status == 200 and login.headers["X-Stackshift-Backend"] == "engine"
    cookies = {c.key: c.value for c in front.client.session.cookie_jar}
    front.client.session.cookie_jar.clear()
    params = {"command": "listVolumes", "response": "json", "sessionkey": cookies["sessionkey"]}
    by_session = await front.raw("GET", params, cookies=cookies)
    assert by_session.status == 200, by_session.text
    assert by_session.headers["X-Stackshift-Backend"] == "engine"


async def test_authenticators_are_routed_whatever_their_case(front: Api) -> None:
    await _route(front, store.Scope("account"), "engine")
    who = front.user
    form = {"command": "LOGIN", "username": who.username, "password": who.password,
            "domain": who.domain_path, "response": "json"}  # fmt: skip
    reply = await front.raw("POST", form)
    assert reply.status == 200 and reply.headers["X-Stackshift-Backend"] == "engine"
