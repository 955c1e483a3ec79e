"""Legacy passthrough: byte-for-byte forwarding against a real HTTP upstream, and 530s."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from compat_api.app import create_app
from compat_api.settings import Settings
from compat_api.signing import signature_matches
from migrate import routes as store
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api import legacy_upstream as up
from tests.compat_api.conftest import Api, db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

ClientMaker = Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]]
ServerMaker = Callable[..., Coroutine[Any, Any, TestServer]]


@pytest.fixture
async def replay(aiohttp_server: ServerMaker) -> tuple[up.Replay, str]:
    replay = up.Replay()
    server = await aiohttp_server(replay.app())
    return replay, str(server.make_url("/client/api"))


def _settings(db: Database, legacy_url: str, timeout: float = 60.0) -> Settings:
    return Settings(
        db_url=db_url_of(db),
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=0,
        config_refresh_seconds=0,
        legacy_url=legacy_url,
        legacy_timeout_seconds=timeout,
    )


@pytest.fixture
async def front(
    seeded_db: tuple[Database, SeedResult],
    replay: tuple[up.Replay, str],
    aiohttp_client: ClientMaker,
) -> Api:
    db, seed = seeded_db
    client = await aiohttp_client(create_app(_settings(db, replay[1]), db=db))
    return Api(client, seed, db)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("fmt", "expected", "ctype"),
    [
        ("json", up.ZONES_JSON, up.JSON_TYPE),
        ("xml", up.ZONES_XML, up.XML_TYPE),
    ],
)
async def test_forwarded_unchanged_both_ways(
    front: Api,
    replay: tuple[up.Replay, str],
    method: str,
    fmt: str,
    expected: bytes,
    ctype: str,
) -> None:
    reply = await front.signed("listZones", front.user, method=method, fmt=fmt, keyword="a b+c")
    assert reply.status == 200
    assert reply.text.encode() == expected
    assert reply.headers["Content-Type"] == ctype
    assert reply.headers["X-Stackshift-Backend"] == "legacy"
    assert reply.headers["X-Upstream"] == "replay"
    assert reply.headers.getall("Set-Cookie") == [
        "JSESSIONID=LEGACY1; Path=/client; HttpOnly",
        "sessionkey=LEGACYKEY; HttpOnly",
    ]
    seen = replay[0].seen[-1]
    raw = seen.raw_query if method == "GET" else seen.body.decode()
    # What the client signed arrives exactly as sent, so legacy can verify it.
    pairs = parse_qsl(raw, keep_blank_values=True)
    signature = dict(pairs)["signature"]
    assert signature_matches(pairs, front.user.secret_key, signature)
    assert "%20" in raw and "%2B" in raw  # the client's own encoding, not re-encoded
    assert seen.method == method and seen.path == "/client/api"
    assert seen.headers["X-Forwarded-Proto"] == "http"
    assert seen.headers["X-Forwarded-For"] == "127.0.0.1"
    if method == "POST":
        assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"


async def test_raw_query_is_byte_for_byte(front: Api, replay: tuple[up.Replay, str]) -> None:
    odd = "command=listZones&response=json&name=%7e%2a%2Fx&empty=&flag&name=twice"
    # Sent as is: the test client would normalise %7e and %2a itself.
    url = URL(f"{front.client.make_url('/client/api')}?{odd}", encoded=True)
    response = await front.client.session.get(url)
    assert response.status == 200
    assert replay[0].seen[-1].raw_query == odd


@pytest.mark.parametrize(
    ("fmt", "expected", "ctype"),
    [
        ("json", up.ERROR_JSON, up.JSON_TYPE),
        ("xml", up.ERROR_XML, up.XML_TYPE),
    ],
)
async def test_legacy_errors_come_back_as_they_were(
    front: Api, fmt: str, expected: bytes, ctype: str
) -> None:
    reply = await front.signed("addBrocadeVcsDevice", front.user, fmt=fmt)
    assert (reply.status, reply.text.encode()) == (431, expected)
    assert reply.headers["Content-Type"] == ctype
    assert reply.headers["X-Description"] == "missing parameter name"


async def test_big_answers_are_streamed_byte_for_byte(front: Api) -> None:
    response = await front.client.get("/client/api?command=listTemplates&response=json")
    assert response.status == 200
    assert response.headers.get("Transfer-Encoding") == "chunked"
    assert await response.read() == b"".join(up.big_body_chunks())


async def test_a_dropped_connection_is_retried_only_for_reads(
    front: Api, replay: tuple[up.Replay, str]
) -> None:
    replay[0].drop_next = True
    reply = await front.signed("listZones", front.user)
    assert (reply.status, reply.text.encode()) == (200, up.ZONES_JSON)
    assert [s.raw_query == "dropped" for s in replay[0].seen] == [True, False]
    front.client.session.cookie_jar.clear()
    replay[0].drop_next = True
    reply = await front.signed("deployVirtualMachine", front.user, zoneid="z")
    assert reply.status == 530  # a write is never sent twice
    assert [s.raw_query == "dropped" for s in replay[0].seen] == [True, False, True]


async def test_compressed_bodies_pass_through_untouched(front: Api) -> None:
    response = await front.client.get(
        "/client/api?command=listZones&response=json",
        headers={"Accept-Encoding": "gzip"},
        auto_decompress=False,
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await response.read()) == up.ZONES_JSON


async def test_cookies_and_headers_forwarded_hop_by_hop_dropped(
    front: Api, replay: tuple[up.Replay, str]
) -> None:
    response = await front.client.get(
        "/client/api?command=listZones&response=json",
        headers={
            "Cookie": "JSESSIONID=UNKNOWN; other=1",
            "User-Agent": "cmk/6",
            "Accept-Language": "fr",
            "X-Forwarded-For": "10.0.0.9",
            "X-Secret-Internal": "no",
        },
    )
    assert response.status == 200
    seen = replay[0].seen[-1].headers
    assert seen["Cookie"] == "JSESSIONID=UNKNOWN; other=1"
    assert seen["User-Agent"] == "cmk/6" and seen["Accept-Language"] == "fr"
    assert seen["X-Forwarded-For"] == "10.0.0.9, 127.0.0.1"
    assert "X-Secret-Internal" not in seen
    assert (
        "Transfer-Encoding" not in response.headers
        or response.headers["Transfer-Encoding"] == "chunked"
    )


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_unreachable_legacy_is_a_530_envelope(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: ClientMaker,
    unused_tcp_port: int,
    fmt: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db, seed = seeded_db
    url = f"http://127.0.0.1:{unused_tcp_port}/client/api"
    api = Api(await aiohttp_client(create_app(_settings(db, url), db=db)), seed, db)
    reply = await api.signed("listZones", api.user, fmt=fmt)
    assert reply.status == 530
    assert reply.headers["X-Stackshift-Backend"] == "legacy"
    text = "The legacy management server could not be reached; please try again later"
    if fmt == "json":
        assert reply.error("listzonesresponse") == (530, 4250, text)
    else:
        assert "<errorcode>530</errorcode><cserrorcode>4250</cserrorcode>" in reply.text
        assert reply.text.startswith("<?xml")
    lines = [r.getMessage() for r in caplog.records if "legacy unreachable" in r.getMessage()]
    assert len(lines) == 1 and "Traceback" not in caplog.text


async def test_legacy_timeout_is_a_530(
    seeded_db: tuple[Database, SeedResult],
    replay: tuple[up.Replay, str],
    aiohttp_client: ClientMaker,
) -> None:
    db, seed = seeded_db
    api = Api(await aiohttp_client(create_app(_settings(db, replay[1], 0.5), db=db)), seed, db)
    started = asyncio.get_running_loop().time()
    reply = await api.raw("GET", {"command": "slowCommand", "response": "json"})
    assert reply.status == 530 and asyncio.get_running_loop().time() - started < 3
    assert reply.error("slowcommandresponse")[0] == 530


async def test_routes_choose_the_backend(front: Api) -> None:
    reply = await front.signed("listZones", front.user)
    assert reply.headers["X-Stackshift-Backend"] == "legacy"
    # The replay hands out a JSESSIONID; a session we do not know is legacy's to judge.
    front.client.session.cookie_jar.clear()
    await store.set_route(
        front.db,
        store.RouteSpec(store.Scope("infra"), "engine"),
        [*_implemented()],
        "test",
        "infra moves",
    )
    await front.client.app[_state_key()].routes.refresh()  # type: ignore[union-attr]
    reply = await front.signed("listZones", front.user)
    assert reply.status == 200 and reply.headers["X-Stackshift-Backend"] == "engine"
    assert "legacy-zone" not in reply.text
    # A command the engine lacks still goes to legacy under a subsystem route.
    await store.set_route(
        front.db,
        store.RouteSpec(store.Scope("network"), "engine"),
        [*_implemented()],
        "test",
        "network moves",
    )
    await front.client.app[_state_key()].routes.refresh()  # type: ignore[union-attr]
    reply = await front.signed("addBrocadeVcsDevice", front.user)
    assert reply.status == 431 and reply.headers["X-Stackshift-Backend"] == "legacy"


def _implemented() -> list[str]:
    from compat_api.commands import build_registry

    return build_registry().names()


def _state_key() -> web.AppKey[Any]:
    from compat_api.app import STATE

    return STATE


def test_serve_takes_the_legacy_url_and_timeout() -> None:
    from compat_api.cli import _parser, _server_settings

    argv = ["serve", "--db", "x.db", "--legacy-url", "http://legacy:8080/client/api",
            "--legacy-timeout", "7.5"]  # fmt: skip
    settings = _server_settings(_parser().parse_args(argv), "x.db", None)
    assert settings.legacy_url == "http://legacy:8080/client/api"
    assert settings.legacy_timeout_seconds == 7.5
    default = _server_settings(_parser().parse_args(["serve", "--db", "x.db"]), "x.db", None)
    assert default.legacy_url is None and default.legacy_timeout_seconds == 60.0
