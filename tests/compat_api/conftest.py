"""A live API server on a seeded cloud (SQLite and MariaDB) and a small signed client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from compat_api.app import create_app
from compat_api.settings import Settings
from compat_api.signing import sign
from engine.hypervisor.simulator import simulators
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from tests.conftest import TEST_ENCRYPTION_KEY


def db_url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


@dataclass
class Reply:
    status: int
    text: str
    headers: Any

    @property
    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.text)
        return body

    def inner(self, root: str) -> dict[str, Any]:
        value: dict[str, Any] = self.json[root]
        return value

    def error(self, root: str) -> tuple[int, int | None, str]:
        inner = self.inner(root)
        return inner["errorcode"], inner.get("cserrorcode"), inner["errortext"]


@dataclass
class Api:
    client: TestClient[Any, Any]
    seed: SeedResult
    db: Database

    @property
    def admin(self) -> Credentials:
        return self.seed.identity.admin

    @property
    def domain_admin(self) -> Credentials:
        return self.seed.identity.domain_admin

    @property
    def user(self) -> Credentials:
        return self.seed.identity.user

    async def signed(
        self,
        command: str,
        who: Credentials | None = None,
        *,
        method: str = "GET",
        fmt: str = "json",
        v3: bool = False,
        secret: str | None = None,
        path: str = "/client/api",
        **params: Any,
    ) -> Reply:
        who = who or self.admin
        pairs = {
            "command": command,
            "response": fmt,
            "apiKey": who.api_key,
            **{k: str(v) for k, v in params.items()},
        }
        if v3:
            expires = datetime.now(UTC) + timedelta(minutes=5)
            pairs.update(signatureVersion="3", expires=expires.strftime("%Y-%m-%dT%H:%M:%S%z"))
        pairs["signature"] = sign(pairs.items(), secret or who.secret_key)
        return await self.raw(method, pairs, path=path)

    async def raw(
        self,
        method: str,
        pairs: dict[str, str],
        *,
        path: str = "/client/api",
        cookies: dict[str, str] | None = None,
    ) -> Reply:
        encoded = "&".join(f"{quote(k, safe='[].')}={quote(v, safe='')}" for k, v in pairs.items())
        headers = (
            {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())} if cookies else {}
        )
        if method == "GET":
            response = await self.client.get(f"{path}?{encoded}", headers=headers)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = await self.client.post(path, data=encoded.encode(), headers=headers)
        return Reply(response.status, await response.text(), response.headers)


@pytest.fixture(autouse=True)
def fresh_simulators() -> Iterator[None]:
    """Simulated hosts are process-wide; each test starts with empty ones."""
    simulators.reset()
    yield
    simulators.reset()


@pytest.fixture
async def api(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> Api:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    settings = Settings(
        db_url=url,
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=0,
        config_refresh_seconds=0,
    )
    client = await aiohttp_client(create_app(settings, db=db))
    return Api(client, seed, db)
