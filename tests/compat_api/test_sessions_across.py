"""Sessions, listApis and async jobs across backends, with a second stackshift as legacy.

For sessions the legacy stand-in runs on a twin of the database (same users, its own
session table), so a forwarded call only works when it carries legacy's own session.
For jobs it shares the database, as the real legacy server shares async_job.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from compat_api.app import STATE, create_app
from compat_api.commands import build_registry
from compat_api.settings import Settings
from compat_api.signing import signature_matches
from migrate import routes as store
from schema_bridge import encryption
from schema_bridge.db import Database, open_database
from schema_bridge.own_tables import sessions
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from tests.compat_api.conftest import Api, Reply, db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.mariadb_pool import ClonePool

ClientMaker = Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]]
ServerMaker = Callable[..., Coroutine[Any, Any, TestServer]]
IMPLEMENTED = build_registry().names()


def _settings(db: Database, legacy_url: str | None = None) -> Settings:
    return Settings(
        db_url=db_url_of(db),
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=0,
        config_refresh_seconds=0,
        legacy_url=legacy_url,
    )


@pytest.fixture
async def twin_db(
    seeded_db: tuple[Database, SeedResult],
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Database]:
    """Another copy of the same seeded cloud."""
    if backend == "sqlite":
        source = seeded_db[0].engine.url.database
        assert source is not None
        shutil.copyfile(source, tmp_path / "twin.db")
        db = await open_database(str(tmp_path / "twin.db"))
        yield db
        await db.dispose()
        return
    pool: ClonePool = request.getfixturevalue("mariadb_clones")
    name = await asyncio.to_thread(pool.take)
    db = await open_database(f"{request.getfixturevalue('mariadb_server')}/{name}")
    yield db
    await db.dispose()
    pool.give_back(name)


@dataclass
class Pair:
    front: Api
    legacy: TestServer
    db: Database

    async def route(self, subsystem: str, backend: str) -> None:
        spec = store.RouteSpec(store.Scope(subsystem), backend)  # type: ignore[arg-type]
        await store.set_route(self.db, spec, IMPLEMENTED, "test", "sessions test")
        routes = self.front.client.app[STATE].routes
        assert routes is not None
        await routes.refresh()


async def _pair(
    db: Database,
    legacy_db: Database,
    seed: SeedResult,
    aiohttp_server: ServerMaker,
    aiohttp_client: ClientMaker,
) -> Pair:
    legacy = await aiohttp_server(create_app(_settings(legacy_db), db=legacy_db))
    front_app = create_app(_settings(db, str(legacy.make_url("/client/api"))), db=db)
    return Pair(Api(await aiohttp_client(front_app), seed, db), legacy, db)


@pytest.fixture
async def twins(
    seeded_db: tuple[Database, SeedResult],
    twin_db: Database,
    aiohttp_server: ServerMaker,
    aiohttp_client: ClientMaker,
) -> Pair:
    db, seed = seeded_db
    return await _pair(db, twin_db, seed, aiohttp_server, aiohttp_client)


@pytest.fixture
async def shared(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_server: ServerMaker,
    aiohttp_client: ClientMaker,
) -> Pair:
    db, seed = seeded_db
    return await _pair(db, db, seed, aiohttp_server, aiohttp_client)


async def _login(api: Api, who: Credentials, fmt: str = "json") -> tuple[Reply, dict[str, str]]:
    form = {"command": "login", "username": who.username, "password": who.password,
            "domain": who.domain_path, "response": fmt}  # fmt: skip
    api.client.session.cookie_jar.clear()
    reply = await api.raw("POST", form)
    jar = {c.key: c.value for c in api.client.session.cookie_jar}
    api.client.session.cookie_jar.clear()
    return reply, jar


async def _session_call(api: Api, cookies: dict[str, str], command: str) -> Reply:
    api.client.session.cookie_jar.clear()
    params = {"command": command, "response": "json", "sessionkey": cookies["sessionkey"]}
    reply = await api.raw("GET", params, cookies=cookies)
    api.client.session.cookie_jar.clear()
    return reply


async def _stored_legacy(db: Database) -> list[tuple[str, str]]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(
            sessions.select().where(sessions.c.legacy_session.is_not(None))
        )).mappings().all()  # fmt: skip
    return [(r["legacy_session"], r["legacy_key"]) for r in rows]


async def _direct(legacy: TestServer, cookies: dict[str, str], command: str) -> int:
    """A session call straight to the legacy stand-in, bypassing the front."""
    from aiohttp import ClientSession

    query = urlencode({"command": command, "response": "json",
                       "sessionkey": cookies["sessionkey"]})  # fmt: skip
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    async with (
        ClientSession() as session,
        session.get(legacy.make_url(f"/client/api?{query}"), headers={"Cookie": header}) as reply,
    ):
        return reply.status


async def test_engine_login_also_logs_in_to_legacy(twins: Pair) -> None:
    api = twins.front
    await twins.route("account", "engine")
    reply, ours = await _login(api, api.user)
    assert reply.status == 200, reply.text
    assert reply.headers["X-Stackshift-Backend"] == "engine"
    [(sealed_id, sealed_key)] = await _stored_legacy(twins.db)
    legacy = {
        "JSESSIONID": encryption.decrypt(sealed_id, TEST_ENCRYPTION_KEY),
        "sessionkey": encryption.decrypt(sealed_key, TEST_ENCRYPTION_KEY),
    }
    assert legacy["JSESSIONID"] not in sealed_id and legacy != ours
    zones = await _session_call(api, ours, "listZones")  # infra: legacy, via the mapping
    assert (zones.status, zones.headers["X-Stackshift-Backend"]) == (200, "legacy"), zones.text
    accounts = await _session_call(api, ours, "listAccounts")  # account: the engine
    assert (accounts.status, accounts.headers["X-Stackshift-Backend"]) == (200, "engine")
    assert await _direct(twins.legacy, legacy, "listZones") == 200
    out = await _session_call(api, ours, "logout")
    assert out.status == 200 and out.headers["X-Stackshift-Backend"] == "engine"
    assert await _direct(twins.legacy, legacy, "listZones") == 401  # legacy's ended too
    assert (await _session_call(api, ours, "listAccounts")).status == 401
    assert (await _session_call(api, ours, "listZones")).status == 401


async def test_a_forwarded_call_without_our_session_key_gets_no_legacy_key(twins: Pair) -> None:
    """A cross-site request rides on the session cookie but cannot know the key: it must not
    be handed legacy's key on the way, on either backend."""
    api = twins.front
    await twins.route("account", "engine")
    reply, ours = await _login(api, api.user)
    assert reply.status == 200, reply.text
    api.client.session.cookie_jar.clear()
    params = {"command": "listZones", "response": "json", "sessionkey": "not-the-key"}
    zones = await api.raw("GET", params, cookies={"JSESSIONID": ours["JSESSIONID"]})
    assert (zones.status, zones.headers["X-Stackshift-Backend"]) == (401, "legacy"), zones.text
    assert zones.error("listzonesresponse") == (401, None, "unable to verify user credentials")
    # The holder of the key still gets through, with legacy's pair substituted.
    assert (await _session_call(api, ours, "listZones")).status == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_login_routed_to_legacy_is_adopted(twins: Pair, fmt: str) -> None:
    api = twins.front
    reply, theirs = await _login(api, api.user, fmt)
    assert reply.status == 200 and reply.headers["X-Stackshift-Backend"] == "legacy"
    assert theirs["sessionkey"] in reply.text
    await twins.route("infra", "engine")
    zones = await _session_call(api, theirs, "listZones")
    assert (zones.status, zones.headers["X-Stackshift-Backend"]) == (200, "engine"), zones.text
    volumes = await _session_call(api, theirs, "listVolumes")
    assert (volumes.status, volumes.headers["X-Stackshift-Backend"]) == (200, "legacy")
    out = await _session_call(api, theirs, "logout")
    assert out.status == 200
    assert await _direct(twins.legacy, theirs, "listZones") == 401
    assert (await _session_call(api, theirs, "listZones")).status == 401


async def test_engine_login_survives_legacy_down(
    seeded_db: tuple[Database, SeedResult], aiohttp_client: ClientMaker, unused_tcp_port: int
) -> None:
    db, seed = seeded_db
    url = f"http://127.0.0.1:{unused_tcp_port}/client/api"
    api = Api(await aiohttp_client(create_app(_settings(db, url), db=db)), seed, db)
    await store.set_route(db, store.RouteSpec(store.Scope("account"), "engine"), IMPLEMENTED,
                          "t", "r")  # fmt: skip
    await api.client.app[STATE].routes.refresh()  # type: ignore[union-attr]
    reply, ours = await _login(api, api.user)
    assert reply.status == 200
    assert (await _session_call(api, ours, "listAccounts")).status == 200


class ApisUpstream:
    """A legacy listApis with one command the engine lacks and one it has."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.verified: list[bool] = []

    async def handle(self, request: web.Request) -> web.Response:
        pairs = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)
        self.verified.append(signature_matches(pairs, self.secret, dict(pairs)["signature"]))
        assert dict(pairs)["response"] == "json"
        apis = [{"name": "createVPC", "isasync": True, "description": "legacy", "params": [],
                 "response": [], "related": "listVPCs"},
                {"name": "listZones", "isasync": False, "description": "dup"}]  # fmt: skip
        return web.json_response({"listapisresponse": {"count": 2, "api": apis}})


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_list_apis_merges_legacy_and_engine(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_server: ServerMaker,
    aiohttp_client: ClientMaker,
    fmt: str,
) -> None:
    db, seed = seeded_db
    upstream = ApisUpstream(seed.identity.user.secret_key)
    app = web.Application()
    app.router.add_get("/client/api", upstream.handle)
    server = await aiohttp_server(app)
    front = create_app(_settings(db, str(server.make_url("/client/api"))), db=db)
    api = Api(await aiohttp_client(front), seed, db)
    await store.set_route(db, store.RouteSpec(store.Scope("infra"), "engine"), IMPLEMENTED,
                          "t", "r")  # fmt: skip
    await api.client.app[STATE].routes.refresh()  # type: ignore[union-attr]
    reply = await api.signed("listApis", api.user, fmt=fmt)
    assert reply.status == 200 and reply.headers["X-Stackshift-Backend"] == "engine"
    assert upstream.verified == [True]  # re-signed with the caller's own key
    if fmt == "json":
        names = [a["name"] for a in reply.inner("listapisresponse")["api"]]
        assert names.count("createVPC") == 1 and names.count("listZones") == 1
        assert "listHosts" not in names  # the engine's admin-only commands stay filtered
        assert reply.inner("listapisresponse")["count"] == len(names)
    else:
        assert reply.text.count("<name>createVPC</name>") == 1
        assert reply.text.count("<name>listZones</name>") == 1


async def _job_result(api: Api, who: Credentials, jobid: str) -> tuple[dict[str, Any], str]:
    for _ in range(200):
        reply = await api.signed("queryAsyncJobResult", who, jobid=jobid)
        result = reply.inner("queryasyncjobresultresponse")
        if result["jobstatus"] != 0:
            return result, reply.headers["X-Stackshift-Backend"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {jobid} never finished")


async def _create_volume(api: Api, who: Credentials) -> tuple[str, str]:
    from sqlalchemy import select

    from schema_bridge.tables import disk_offering

    async with api.db.engine.connect() as conn:
        offering = (await conn.execute(select(disk_offering.c.uuid).where(
            disk_offering.c.id == api.seed.catalog.fixed_disk_offering_id
        ))).scalar_one()  # fmt: skip
    reply = await api.signed("createVolume", who, diskofferingid=offering,
                             zoneid=api.seed.infrastructure.zone_uuid, name="across")  # fmt: skip
    assert reply.status == 200, reply.text
    return reply.inner("createvolumeresponse")["jobid"], reply.headers["X-Stackshift-Backend"]


async def test_async_jobs_are_found_whichever_backend_made_them(shared: Pair) -> None:
    api, who = shared.front, shared.front.user
    jobid, made_by = await _create_volume(api, who)  # volume: legacy by default
    await shared.route("job", "engine")
    result, asked = await _job_result(api, who, jobid)
    assert (made_by, asked, result["jobstatus"]) == ("legacy", "engine", 1), result
    await shared.route("volume", "engine")
    await shared.route("job", "legacy")
    jobid, made_by = await _create_volume(api, who)
    result, asked = await _job_result(api, who, jobid)
    assert (made_by, asked, result["jobstatus"]) == ("engine", "legacy", 1), result
