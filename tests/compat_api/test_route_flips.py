"""Route flips under continuous load: two instances on one MariaDB, 0 failed requests, and
every instance honours each new route within one second."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import pytest

from compat_api.commands import build_registry
from compat_api.routing import in_canary
from compat_api.signing import sign
from migrate import routes as store
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from tests.compat_api.conftest import db_url_of
from tests.compat_api.strangler_servers import servers, wait_ready

IMPLEMENTED = build_registry().names()
HONOUR_WITHIN = 1.0
PHASE = 2.5
WORKERS = 6
ENOUGH = 8  # settled calls per instance before judging a change


@dataclass(frozen=True)
class Sample:
    started: float
    port: int
    command: str
    who: str
    backend: str
    ok: bool
    detail: str


async def _one(session: aiohttp.ClientSession, port: int, who: Credentials, command: str) -> Sample:
    pairs = {"command": command, "response": "json", "apiKey": who.api_key}
    pairs["signature"] = sign(pairs.items(), who.secret_key)
    started = time.monotonic()
    try:
        async with session.get(f"http://127.0.0.1:{port}/client/api", params=pairs) as reply:
            body = await reply.read()
            backend = reply.headers.get("X-Stackshift-Backend", "?")
            ok = reply.status == 200 and body.startswith(b'{"list')
            detail = "" if ok else f"{reply.status} {body[:200]!r}"
    except (aiohttp.ClientError, TimeoutError) as error:
        backend, ok, detail = "?", False, repr(error)
    return Sample(started, port, command, who.account_name, backend, ok, detail)


async def _load(
    ports: list[int], callers: list[Credentials], samples: list[Sample], stop: asyncio.Event
) -> None:
    connector = aiohttp.TCPConnector(limit=WORKERS * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def worker(n: int) -> None:
            i = n
            while not stop.is_set():
                port = ports[i % len(ports)]
                who = callers[(i // len(ports)) % len(callers)]
                command = ("listZones", "listVolumes")[(i // 4) % 2]
                samples.append(await _one(session, port, who, command))
                i += WORKERS

        await asyncio.gather(*(worker(n) for n in range(WORKERS)))


async def _settle(samples: list[Sample], since: float, ports: list[int]) -> None:
    """Wait PHASE, and longer on a busy machine, until every instance has answered ENOUGH
    calls started HONOUR_WITHIN after the change."""
    await asyncio.sleep(PHASE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        settled = [s.port for s in samples if s.started >= since + HONOUR_WITHIN]
        if all(settled.count(port) >= ENOUGH for port in ports):
            return
        await asyncio.sleep(0.2)


def _expect(
    samples: list[Sample], since: float, ports: list[int], rule: dict[tuple[str, str], str]
) -> None:
    """Every call started HONOUR_WITHIN after the change, on every instance, went where
    `rule[(command, account)]` says; each instance served some of them."""
    settled = [s for s in samples if s.started >= since + HONOUR_WITHIN]
    stale = [s.started - since for s in samples if s.started >= since and
             rule[(s.command, s.who)] != s.backend]  # fmt: skip
    print(f"route change honoured after {max(stale, default=0.0):.3f} s at most")
    for port in ports:
        mine = [s for s in settled if s.port == port]
        assert len(mine) >= ENOUGH, f"too few calls on {port} to judge"
        wrong = [s for s in mine if rule[(s.command, s.who)] != s.backend]
        assert not wrong, f"instance {port} still routed {wrong[:3]}"


async def _set(db: Database, scope: store.Scope, backend: str, percent: int = 100) -> float:
    spec = store.RouteSpec(scope, backend, percent=percent)  # type: ignore[arg-type]
    await store.set_route(db, spec, IMPLEMENTED, "flip-test", "route flip under load")
    return time.monotonic()


@pytest.mark.parametrize("backend", [pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def test_route_flips_under_load(seeded_db: tuple[Database, SeedResult]) -> None:
    db, seed = seeded_db
    user, admin = seed.identity.user, seed.identity.admin
    callers = [user, admin]
    names = [who.account_name for who in callers]
    samples: list[Sample] = []
    stop = asyncio.Event()
    with servers(db_url_of(db), fronts=2) as (legacy_port, ports):
        for port in [legacy_port, *ports]:
            await wait_ready(port)
        load = asyncio.create_task(_load(ports, callers, samples, stop))
        try:
            start = time.monotonic() - HONOUR_WITHIN
            await _settle(samples, start, ports)
            _expect(samples, start, ports, _rule(names))
            # 1. a whole subsystem
            since = await _set(db, store.Scope("infra"), "engine")
            await _settle(samples, since, ports)
            _expect(samples, since, ports, _rule(names, frozenset({"listZones"})))
            # 2. one command
            since = await _set(db, store.Scope("volume", "listVolumes"), "engine")
            await _settle(samples, since, ports)
            _expect(samples, since, ports, _rule(names, frozenset({"listZones", "listVolumes"})))
            # 3. one account back to legacy for that command
            scope = store.Scope("volume", "listVolumes", account=user.account_uuid)
            since = await _set(db, scope, "legacy")
            await _settle(samples, since, ports)
            rule = _rule(names, frozenset({"listZones", "listVolumes"}))
            rule[("listVolumes", user.account_name)] = "legacy"
            _expect(samples, since, ports, rule)
            # 4. a sticky canary that takes exactly one of the two accounts
            percent = _splitting_percent(user.account_uuid, admin.account_uuid)
            since = await _set(db, store.Scope("infra"), "engine", percent)
            await _settle(samples, since, ports)
            for who in callers:
                inside = in_canary(who.account_uuid, "infra", percent)
                rule[("listZones", who.account_name)] = "engine" if inside else "legacy"
            assert {rule[("listZones", w.account_name)] for w in callers} == {"engine", "legacy"}
            _expect(samples, since, ports, rule)
            # 5. everything cleared: legacy again
            for one in (scope, store.Scope("volume", "listVolumes"), store.Scope("infra")):
                await store.clear_route(db, one, "flip-test", "back out")
            since = time.monotonic()
            await _settle(samples, since, ports)
            _expect(samples, since, ports, _rule(names))
        finally:
            stop.set()
            await load
    failed = [s for s in samples if not s.ok]
    assert len(samples) > 200
    assert not failed, f"{len(failed)} of {len(samples)} failed: {failed[:3]}"


def _rule(names: list[str], engine: frozenset[str] = frozenset()) -> dict[tuple[str, str], str]:
    """Where each (command, account) goes: the `engine` commands there, the rest legacy."""
    return {
        (command, who): "engine" if command in engine else "legacy"
        for command in ("listZones", "listVolumes")
        for who in names
    }


def _splitting_percent(a: str, b: str) -> int:
    for percent in range(1, 100):
        if in_canary(a, "infra", percent) != in_canary(b, "infra", percent):
            return percent
    raise AssertionError("no percentage splits the two accounts")
