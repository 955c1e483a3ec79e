"""/status: the HTML page fetched and read, and /status.json, its twin (SQLite and MariaDB)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from compat_api.app import STATE, create_app
from compat_api.ops.runtime import OPS
from compat_api.ops.snapshot import from_json
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import Api, db_url_of
from tests.compat_api.ops.crashed_job import crash_in_start
from tests.conftest import TEST_ENCRYPTION_KEY

DEAD = 0x8000_0000_0002


class Text(HTMLParser):
    """The page as a reader sees it: visible text, and every URL it would load."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


async def page(api: Api) -> Text:
    response = await api.client.get("/status")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    parsed = Text()
    parsed.feed(await response.text())
    return parsed


async def test_the_page_shows_health_traffic_jobs_instances_and_routes(api: Api) -> None:
    for _ in range(2):
        await api.signed("listZones")
    await api.signed("listZones", secret="wrong")
    shown = await page(api)
    text = shown.text
    assert "stackshift READY" in text
    assert "Database OK" in text and "All checks pass." in text
    assert "Legacy server not configured" in text
    assert re.search(r"listZones engine 3 1 33\.3 ", text), text
    assert "Slowest commands" in text
    assert "0 pending engine jobs" in text and "0 stuck." in text
    msid = api.client.app[STATE].engine.msid
    assert re.search(rf"{msid} \S+ \d+ 0\.1\.0 .* alive", text)
    assert re.search(r"vm engine \d+ vm legacy/unknown \d+", text)
    # Self-contained and harmless: no scripts, nothing loaded from elsewhere, no secrets.
    assert "script" not in shown.tags and shown.urls == []
    assert TEST_ENCRYPTION_KEY not in text and api.admin.secret_key not in text


@pytest.fixture
async def engineless_api(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> Api:
    """No job runner here: a live one would resume the dead owner's job at once."""
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    settings = Settings(db_url=url, encryption_key=TEST_ENCRYPTION_KEY, engine_enabled=False)
    return Api(await aiohttp_client(create_app(settings, db=db)), seed, db)


async def test_a_stuck_job_is_explained_on_the_page(engineless_api: Api) -> None:
    api = engineless_api
    crashed = await crash_in_start(api.db, api.seed, DEAD)
    text = (await page(api)).text
    assert "1 pending engine jobs" in text and "1 stuck." in text
    assert "READY, WITH PROBLEMS" in text and "1 stuck jobs: see `stackshift jobs --stuck`" in text
    row = text[text.index(crashed.uuid) :]
    assert row.startswith(
        f"{crashed.uuid} startVirtualMachine VirtualMachine {crashed.vm.uuid} "
        f"start on host (2/2) {DEAD} (dead)"
    )
    assert "owner is dead and no stackshift instance is running: start one to resume it" in row
    assert f"`stackshift jobs --fail {crashed.uuid} --reason ...`" in row


async def test_draining_shows_on_the_page_and_json_round_trips(api: Api) -> None:
    api.client.app[OPS].drain.begin()
    assert "stackshift DRAINING" in (await page(api)).text
    response = await api.client.get("/status.json")
    assert response.status == 200
    snapshot = from_json(await response.json())
    assert snapshot.health.draining and not snapshot.health.ready
    assert snapshot.jobs is not None and [i.alive for i in snapshot.jobs.instances] == [True]
    assert any(r.subsystem == "vm" and r.backend == "engine" for r in snapshot.routes)
    assert snapshot.traffic is not None
