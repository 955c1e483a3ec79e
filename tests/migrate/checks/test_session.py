"""SQL mode, time zone and clock skew: what stackshift's sessions get, and the refusals."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from migrate.checks import Target, clock, sql_mode, time_zone
from schema_bridge.db import Database, normalise_url, open_database

pytestmark = pytest.mark.mariadb


@pytest.fixture
async def proxied(mariadb_url: str) -> AsyncIterator[Database]:
    """Sessions as a proxy that drops stackshift's init command would leave them."""
    engine = create_async_engine(
        normalise_url(mariadb_url),
        connect_args={"init_command": "SET time_zone='+02:00', sql_mode='NO_ENGINE_SUBSTITUTION'"},
    )
    yield Database(engine, "mysql", "proxied")
    await engine.dispose()


@pytest.fixture
async def direct(mariadb_url: str) -> AsyncIterator[Database]:
    db = await open_database(mariadb_url)
    yield db
    await db.dispose()


async def test_passes_on_stackshift_sessions(direct: Database) -> None:
    target = Target(db=direct, url="")
    for check in (sql_mode, time_zone, clock):
        (finding,) = await check.run(target)
        assert finding.status == "PASS", finding.line()


async def test_sql_mode_refusal(proxied: Database) -> None:
    (finding,) = await sql_mode.run(Target(db=proxied, url=""))
    assert finding.line() == (
        "FAIL sql_mode: stackshift's sessions run without ERROR_FOR_DIVISION_BY_ZERO,"
        "NO_ZERO_DATE,NO_ZERO_IN_DATE,STRICT_TRANS_TABLES (session mode: "
        "NO_ENGINE_SUBSTITUTION). To do: let the connection's init command through (a proxy "
        "may drop it) or set sql_mode in the server's configuration to CloudStack's strict list"
    )


async def test_time_zone_refusal(proxied: Database) -> None:
    (finding,) = await time_zone.run(Target(db=proxied, url=""))
    assert finding.line() == (
        "FAIL time_zone: stackshift's sessions run in time zone +02:00, not UTC. To do: let "
        "the connection's init command through (a proxy may drop it)"
    )


@pytest.mark.parametrize(("skew", "status"), [(0.0, "PASS"), (2.5, "WARN"), (30.0, "FAIL")])
async def test_clock_skew(
    direct: Database, monkeypatch: pytest.MonkeyPatch, skew: float, status: str
) -> None:
    monkeypatch.setattr(clock, "host_now", lambda: time.time() - skew)
    (finding,) = await clock.run(Target(db=direct, url=""))
    assert finding.status == status, finding.line()
    if status == "FAIL":
        assert re.fullmatch(r"database clock is (29|30)\.\d\d s ahead of this host", finding.found)
        assert finding.todo == "synchronise both clocks with NTP (chrony)"
