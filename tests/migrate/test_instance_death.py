"""A killed stackshift instance is shown dead within seconds (`stackshift instances`)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool

from migrate import fleet, revisions, schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import db_url_of
from tests.compat_api.ops import servers
from tests.compat_api.test_cli import free_port

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]


@pytest.fixture
def backend() -> str:
    return "mariadb"  # a real server process beside the test, as in production


async def test_a_killed_instance_is_noticed_dead_within_seconds(
    seeded_db: tuple[Database, SeedResult], tmp_path: Path
) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    server = servers.start(url, free_port(), tmp_path / "server.log", "--workers", "1",
                           "--job-dead-after", "3")  # fmt: skip
    try:
        await asyncio.to_thread(servers.wait_ready, server)
        found = await asyncio.to_thread(_read, url, 3.0)
        assert [i.state for i in found] == ["alive"]
        assert found[0].schema_revision == revisions.head()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        killed = time.monotonic()
        while (await asyncio.to_thread(_read, url, 3.0))[0].alive:
            assert time.monotonic() - killed < 10, "still alive 10 s after SIGKILL"
            await asyncio.sleep(0.2)
        noticed = time.monotonic() - killed
        print(f"\nkilled instance shown dead after {noticed:.1f} s (dead after 3 s)")
        assert noticed < 5
    finally:
        server.kill()


def _read(url: str, dead_after: float) -> list[fleet.Instance]:
    engine = create_engine(schema.sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return fleet.read(conn, dead_after)
    finally:
        engine.dispose()
