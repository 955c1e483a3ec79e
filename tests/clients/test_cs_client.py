"""The real `cs` client (library, asyncio client, CLI) against a live server on a real port."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import cs
import pytest
import xmltodict
from aiohttp.test_utils import TestServer

from compat_api.app import create_app
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from tests.compat_api.conftest import db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

Live = tuple[str, SeedResult]


@pytest.fixture
async def live(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]],
) -> Live:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    settings = Settings(db_url=url, encryption_key=TEST_ENCRYPTION_KEY)
    server = await aiohttp_server(create_app(settings, db=db))
    return f"http://127.0.0.1:{server.port}/client/api", seed


def client(endpoint: str, who: Credentials, **options: Any) -> cs.CloudStack:
    return cs.CloudStack(endpoint=endpoint, key=who.api_key, secret=who.secret_key, **options)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("signature", ["v3", "v1"])
async def test_library_lists_zones(live: Live, method: str, signature: str) -> None:
    endpoint, seed = live
    expiration = 600 if signature == "v3" else -1
    api = client(endpoint, seed.identity.admin, method=method, expiration=expiration)
    zones = await asyncio.to_thread(api.listZones)
    assert zones["count"] == 1
    assert zones["zone"][0]["networktype"] == "Advanced"
    everything = await asyncio.to_thread(lambda: api.listZones(fetch_list=True))
    assert [z["id"] for z in everything] == [z["id"] for z in zones["zone"]]


async def test_library_xml(live: Live) -> None:
    endpoint, seed = live
    api = client(endpoint, seed.identity.user)
    text = await asyncio.to_thread(lambda: api.listZones(json=False))
    parsed = xmltodict.parse(text)
    assert parsed["listzonesresponse"]["count"] == "1"
    assert "dns1" not in parsed["listzonesresponse"]["zone"]


async def test_library_error_is_a_cloudstack_exception(live: Live) -> None:
    endpoint, seed = live
    api = client(endpoint, seed.identity.admin)
    with pytest.raises(cs.CloudStackApiException) as caught:
        await asyncio.to_thread(lambda: api.listZones(page="x", pagesize="1"))
    assert caught.value.error["errorcode"] == 431
    assert caught.value.error["cserrorcode"] == 9999
    bad = cs.CloudStack(endpoint=endpoint, key=seed.identity.admin.api_key, secret="wrong")
    with pytest.raises(cs.CloudStackApiException) as caught:
        await asyncio.to_thread(bad.listZones)
    assert caught.value.error["errorcode"] == 401


async def test_asyncio_client(live: Live) -> None:
    endpoint, seed = live
    who = seed.identity.domain_admin
    async with cs.AIOCloudStack(endpoint=endpoint, key=who.api_key, secret=who.secret_key) as api:
        zones = await api.listZones()
        caps = await api.listCapabilities()
    assert zones["count"] == 1
    assert caps["capability"]["cloudstackversion"] == "4.20.2.0"


async def _cli(endpoint: str, who: Credentials, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CLOUDSTACK_ENDPOINT": endpoint,
        "CLOUDSTACK_KEY": who.api_key,
        "CLOUDSTACK_SECRET": who.secret_key,
        "CLOUDSTACK_CONFIG": "/nonexistent",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cs",
        *args,
        env=env,
        cwd=str(Path(__file__).parent),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_cli(live: Live) -> None:
    endpoint, seed = live
    code, out, err = await _cli(endpoint, seed.identity.admin, "listZones")
    assert code == 0, err
    assert json.loads(out)["count"] == 1
    code, out, err = await _cli(
        endpoint, seed.identity.admin, "--post", "listApis", "name=listZones"
    )
    assert code == 0, err
    assert json.loads(out)["api"][0]["name"] == "listZones"
    code, out, err = await _cli(endpoint, seed.identity.user, "listZones", "page=x", "pagesize=1")
    assert code != 0
    assert "431" in out + err
