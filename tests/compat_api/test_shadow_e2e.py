"""Shadow comparison through a live server on shadowed routes, with a real HTTP legacy
upstream answering recorded-shape bodies (the engine's own answer with a field altered)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from compat_api.app import STATE, create_app
from compat_api.commands import build_registry
from compat_api.dispatch import ServerState
from compat_api.settings import Settings
from compat_api.shadow import ShadowMirror
from compat_api.shadow_report import field_report
from compat_api.shadow_settings import ShadowSettings
from compat_api.signing import signature_matches
from migrate import routes as store
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.tables import ssh_keypairs
from tests.compat_api.conftest import Api, db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

ClientMaker = Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]]
ServerMaker = Callable[..., Coroutine[Any, Any, TestServer]]
JSON_TYPE = "application/json;charset=utf-8"


@dataclass
class Legacy:
    """Answers each command with a body set by the test; counts and keeps what it got."""

    bodies: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    delay: float = 0.0
    seen: Counter[str] = field(default_factory=Counter)
    queries: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        command = request.query.get("command", "")
        self.seen[command] += 1
        self.queries.append(request.rel_url.raw_query_string)
        if self.delay:
            await asyncio.sleep(self.delay)
        make = self.bodies.get(command)
        body = make() if make else b'{"errorresponse":{"errorcode":432}}'
        response = web.Response(status=200 if make else 432, body=body)
        response.headers["Content-Type"] = JSON_TYPE
        return response


@pytest.fixture
async def legacy(aiohttp_server: ServerMaker) -> tuple[Legacy, str]:
    upstream = Legacy()
    app = web.Application()
    app.router.add_route("*", "/client/api", upstream.handle)
    server = await aiohttp_server(app)
    return upstream, str(server.make_url("/client/api"))


def _settings(db: Database, legacy_url: str, shadow: ShadowSettings) -> Settings:
    return Settings(
        db_url=db_url_of(db),
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=0,
        config_refresh_seconds=0,
        legacy_url=legacy_url,
        shadow=shadow,
    )


async def _front(
    seeded_db: tuple[Database, SeedResult],
    legacy: tuple[Legacy, str],
    aiohttp_client: ClientMaker,
    shadow: ShadowSettings,
) -> Api:
    db, seed = seeded_db
    await asyncio.to_thread(own_schema.upgrade, db_url_of(db))
    client = await aiohttp_client(create_app(_settings(db, legacy[1], shadow), db=db))
    return Api(client, seed, db)


def _state(api: Api) -> ServerState:
    return api.client.app[STATE]


def _mirror(api: Api) -> ShadowMirror:
    mirror = _state(api).shadow
    assert isinstance(mirror, ShadowMirror)
    return mirror


async def _route(api: Api, scope: store.Scope, backend: str, shadow: bool = False) -> None:
    spec = store.RouteSpec(scope, backend, shadow=shadow)  # type: ignore[arg-type]
    await store.set_route(api.db, spec, build_registry().names(), "test", "shadow test")
    routes = _state(api).routes
    assert routes is not None
    await routes.refresh()


async def _engine_zones(api: Api) -> dict[str, Any]:
    await _route(api, store.Scope("infra", "listZones"), "engine")
    reply = await api.signed("listZones", api.admin)
    assert reply.status == 200 and reply.headers["X-Stackshift-Backend"] == "engine"
    return reply.json


async def test_injected_difference_is_found(
    seeded_db: tuple[Database, SeedResult], legacy: tuple[Legacy, str], aiohttp_client: ClientMaker
) -> None:
    api = await _front(seeded_db, legacy, aiohttp_client, ShadowSettings(noise_percent=100))
    upstream = legacy[0]
    engine_answer = await _engine_zones(api)
    altered = json.loads(json.dumps(engine_answer))
    altered["listzonesresponse"]["zone"][0]["name"] = "renamed-at-legacy"
    upstream.bodies["listZones"] = lambda: json.dumps(altered).encode()
    await _route(api, store.Scope("infra", "listZones"), "engine", shadow=True)
    for _ in range(10):
        reply = await api.signed("listZones", api.admin)
        assert reply.json == engine_answer  # the client gets the primary's answer
    await _mirror(api).settle()
    assert upstream.seen["listZones"] == 10
    # Forwarded byte for byte: legacy could verify the admin's signature.
    pairs = parse_qsl(upstream.queries[-1], keep_blank_values=True)
    assert signature_matches(pairs, api.admin.secret_key, dict(pairs)["signature"])
    report = {r.field: r for r in await field_report(api.db, "listZones")}
    name = report["zone[].name"]
    assert (name.samples, name.diffs, name.noise_samples, name.noise_diffs) == (10, 10, 10, 0)
    assert name.different
    assert name.example is not None
    assert name.example.other_value == "renamed-at-legacy"
    assert [f for f, r in report.items() if r.different] == ["zone[].name"]
    metrics = await (await api.client.get("/metrics")).text()
    assert 'stackshift_shadow_samples_total{command="listZones",kind="candidate"} 10.0' in metrics
    assert (
        'stackshift_shadow_differences_total{command="listZones",kind="candidate"} 10.0' in metrics
    )


async def test_self_noise_is_not_reported(
    seeded_db: tuple[Database, SeedResult], legacy: tuple[Legacy, str], aiohttp_client: ClientMaker
) -> None:
    api = await _front(seeded_db, legacy, aiohttp_client, ShadowSettings(noise_percent=100))
    upstream = legacy[0]
    engine_answer = await _engine_zones(api)
    ticks = iter(range(1000))

    def noisy() -> bytes:
        # Legacy's answer carries a value that changes on every call, even between two of
        # its own answers: noise, not a difference.
        body = json.loads(json.dumps(engine_answer))
        for zone in body["listzonesresponse"]["zone"]:
            zone["capacityused"] = next(ticks)
        return json.dumps(body).encode()

    upstream.bodies["listZones"] = noisy
    await _route(api, store.Scope("infra", "listZones"), "legacy", shadow=True)
    for _ in range(8):
        reply = await api.signed("listZones", api.admin)
        assert reply.headers["X-Stackshift-Backend"] == "legacy"
    await _mirror(api).settle()
    assert upstream.seen["listZones"] == 16  # 8 served, 8 asked again for noise
    report = {r.field: r for r in await field_report(api.db, "listZones")}
    used = report["zone[].capacityused"]
    assert (used.rate, used.noise_rate, used.different) == (1.0, 1.0, False)
    assert not any(r.different for r in report.values())


async def test_mutating_commands_run_exactly_once(
    seeded_db: tuple[Database, SeedResult], legacy: tuple[Legacy, str], aiohttp_client: ClientMaker
) -> None:
    api = await _front(seeded_db, legacy, aiohttp_client, ShadowSettings(noise_percent=100))
    upstream = legacy[0]
    upstream.bodies["createSSHKeyPair"] = lambda: b'{"createsshkeypairresponse":{}}'
    # A whole subsystem shadowed: its mutating commands still run once, on the primary.
    await _route(api, store.Scope("vm"), "engine", shadow=True)
    reply = await api.signed("createSSHKeyPair", api.user, name="once-on-engine")
    assert reply.status == 200 and reply.headers["X-Stackshift-Backend"] == "engine"
    await _route(api, store.Scope("vm"), "legacy", shadow=True)
    reply = await api.signed("createSSHKeyPair", api.user, name="once-on-legacy")
    assert reply.headers["X-Stackshift-Backend"] == "legacy"
    await _mirror(api).settle()
    assert upstream.seen["createSSHKeyPair"] == 1
    async with api.db.engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    select(ssh_keypairs.c.keypair_name, func.count())
                    .where(ssh_keypairs.c.keypair_name.in_(["once-on-engine", "once-on-legacy"]))
                    .group_by(ssh_keypairs.c.keypair_name)
                )
            ).all()
        )
    assert rows == {"once-on-engine": 1}
    assert await field_report(api.db, "createSSHKeyPair") == []


async def test_a_slow_shadow_upstream_never_delays_the_client(
    seeded_db: tuple[Database, SeedResult], legacy: tuple[Legacy, str], aiohttp_client: ClientMaker
) -> None:
    shadow = ShadowSettings(queue_size=2, workers=1, noise_percent=0, timeout_seconds=0.5)
    api = await _front(seeded_db, legacy, aiohttp_client, shadow)
    upstream = legacy[0]
    await _engine_zones(api)
    upstream.bodies["listZones"] = lambda: b"{}"
    upstream.delay = 3.0
    plain = []
    for _ in range(5):
        started = time.perf_counter()
        await api.signed("listZones", api.admin)
        plain.append(time.perf_counter() - started)
    await _route(api, store.Scope("infra", "listZones"), "engine", shadow=True)
    shadowed = []
    for _ in range(10):
        started = time.perf_counter()
        reply = await api.signed("listZones", api.admin)
        shadowed.append(time.perf_counter() - started)
        assert reply.status == 200
    mirror = _mirror(api)
    # One replay in flight, two queued, the rest dropped and counted.
    assert mirror.dropped == 7
    assert max(shadowed) < max(plain) + 0.25
    metrics = await (await api.client.get("/metrics")).text()
    assert "stackshift_shadow_dropped_total 7.0" in metrics
