"""/healthz and /readyz on a live server (SQLite and MariaDB): what they report, 503 when
draining or when the database is unreachable, the legacy check, and no access-log noise."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from compat_api.app import STATE
from compat_api.ops.health import check_legacy
from compat_api.ops.runtime import OPS
from schema_bridge.db import open_database
from tests.compat_api.conftest import Api


async def test_healthz_is_cheap_and_plain(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status == 200
    assert await response.text() == "ok\n"


async def test_readyz_reports_database_jobs_and_drain(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body["ready"] is True and body["draining"] is False
    assert body["database"]["ok"] is True and body["database"]["latency_ms"] >= 0
    assert "password" not in str(body["database"]["target"]).lower()
    assert body["legacy"] is None
    assert body["jobs"] == {"pending": 0, "oldest_pending_seconds": 0.0, "stuck": 0}
    assert body["instance"]["msid"] == api.client.app[STATE].engine.msid
    assert body["problems"] == []


async def test_readyz_is_503_while_draining_but_requests_are_still_served(api: Api) -> None:
    api.client.app[OPS].drain.begin()
    response = await api.client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["ready"] is False and body["draining"] is True
    assert body["problems"][0].startswith("draining")
    assert (await api.client.get("/healthz")).status == 200
    assert (await api.signed("listZones")).status == 200


@pytest.mark.parametrize("broken", ["mysql://root@127.0.0.1:1/nowhere", "/nonexistent/dir/x.db"])
async def test_readyz_is_503_when_the_database_is_unreachable(api: Api, broken: str) -> None:
    state = api.client.app[STATE]
    working = state.db
    state.db = await open_database(broken)
    try:
        response = await api.client.get("/readyz")
        body = await response.json()
    finally:
        await state.db.dispose()
        state.db = working
    assert response.status == 503
    assert body["ready"] is False and body["database"]["ok"] is False
    assert body["database"]["error"] and "\n" not in body["database"]["error"]
    assert body["jobs"] is None
    assert body["problems"] == [f"database unreachable: {body['database']['error']}"]
    assert (await api.client.get("/readyz")).status == 200


async def _legacy_server(
    aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]],
) -> TestServer:
    async def client_api(request: web.Request) -> web.Response:
        return web.json_response({"errorresponse": {"errorcode": 401}}, status=401)

    legacy = web.Application()
    legacy.router.add_get("/client/api", client_api)
    return await aiohttp_server(legacy)


async def test_readyz_checks_the_legacy_server_when_configured(
    api: Api, aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]]
) -> None:
    legacy = await _legacy_server(aiohttp_server)
    ops = api.client.app[OPS]
    ops.settings = dataclasses.replace(
        ops.settings, legacy_url=f"http://admin:hunter2@127.0.0.1:{legacy.port}/client/api"
    )
    body = await (await api.client.get("/readyz")).json()
    assert body["legacy"]["ok"] is True and body["legacy"]["latency_ms"] >= 0
    assert "hunter2" not in str(body) and "admin" not in body["legacy"]["target"]
    await legacy.close()
    response = await api.client.get("/readyz")
    body = await response.json()
    # A down legacy server is reported; this instance still serves what it implements.
    assert response.status == 200 and body["legacy"]["ok"] is False
    assert body["problems"][0].startswith("legacy server unreachable at http://127.0.0.1:")
    assert "hunter2" not in str(body)


async def test_probes_stay_out_of_the_access_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stackshift.access")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await api.client.get(path)).status == 200
    await api.signed("listZones")
    lines = [r.getMessage() for r in caplog.records if r.name == "stackshift.access"]
    assert len(lines) == 1
    fields = dict(part.split("=", 1) for part in lines[0].split(" "))
    assert fields["command"] == "listZones" and fields["backend"] == "engine"
    assert fields["status"] == "200" and fields["account"] == "admin"
    assert set(fields) == {"request_id", "method", "command", "account", "backend", "status", "ms"}


@pytest.mark.parametrize(
    "url",
    [
        "http://admin:hunter2@127.0.0.1:1/client/api",
        "http://admin:hunter2@127.0.0.1:99999/client/api",
        "ftp://admin:hunter2@[::1/x",
    ],
)
async def test_a_legacy_url_never_leaks_its_credentials(url: str) -> None:
    check = await check_legacy(url)
    assert not check.ok and check.error
    assert "hunter2" not in f"{check.error} {check.target}"
