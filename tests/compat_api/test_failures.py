"""Unexpected failures: a 530 envelope with an error id, one log line, no traceback on the wire."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from compat_api.app import create_app
from compat_api.commands import build_registry
from compat_api.context import CallContext
from compat_api.registry import Registry, declare
from compat_api.render import Result
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import Api, db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY


async def explode(ctx: CallContext, args: dict[str, Any]) -> Result:
    raise RuntimeError("disk on fire at /var/lib/secret-path")


@pytest.fixture
async def failing_api(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> Api:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    broken = declare("listPods", subsystem="infra", handler=explode, summary="Always fails.")
    registry = Registry([*(c for c in build_registry() if c.name != "listPods"), broken])
    settings = Settings(db_url=url, encryption_key=TEST_ENCRYPTION_KEY, auth_cache_seconds=0)
    client = await aiohttp_client(create_app(settings, db=db, registry=registry))
    return Api(client, seed, db)


async def test_unexpected_failure_is_a_530_with_an_error_id(
    failing_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stackshift")
    for who in (failing_api.user, failing_api.admin):
        reply = await failing_api.signed("listPods", who)
        assert reply.status == 530
        error_id = reply.headers["X-Error-Id"]
        code, cs_code, text = reply.error("listpodsresponse")
        assert (code, cs_code) == (530, 4250)
        assert "secret-path" not in reply.text and "Traceback" not in reply.text
        if who is failing_api.user:
            assert (
                text == "Internal error executing command, please contact your system administrator"
            )
        else:
            assert error_id in text
        lines = [r.getMessage() for r in caplog.records if r.name == "stackshift.error"]
        assert any(f"error_id={error_id}" in line and "RuntimeError" in line for line in lines)
        assert all("\n" not in line for line in lines)


async def test_access_log_has_one_line_per_request(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stackshift")
    reply = await api.signed("listZones", api.user)
    request_id = reply.headers["X-Request-Id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "stackshift.access"]
    mine = [line for line in lines if f"request_id={request_id}" in line]
    assert len(mine) == 1
    assert "command=listZones" in mine[0] and f"account={api.user.account_name}" in mine[0]
    assert "status=200" in mine[0] and " ms=" in mine[0]
    assert api.user.secret_key not in "".join(lines) and api.user.api_key not in "".join(lines)


async def test_request_id_is_taken_from_the_client(api: Api) -> None:
    response = await api.client.get(
        "/client/api?command=listZones", headers={"X-Request-Id": "abc123"}
    )
    assert response.headers["X-Request-Id"] == "abc123"
