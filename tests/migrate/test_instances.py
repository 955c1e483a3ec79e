"""`stackshift instances`: every registered process, and a killed one noticed dead within
seconds."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from compat_api.cli import main
from migrate import revisions, schema
from schema_bridge import instances
from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.own_tables import instances as instances_table
from tests.compat_api.conftest import db_url_of
from tests.compat_api.test_cli import free_port


async def _age(db: Database, msid: int, seconds: float) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            update(instances_table)
            .where(instances_table.c.msid == msid)
            .values(heartbeat=utc_now() - timedelta(seconds=seconds))
        )


async def test_lists_alive_draining_and_dead(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url_of(database)
    await asyncio.to_thread(schema.upgrade, url)
    alive, draining, dead = (instances.new_msid() for _ in range(3))
    for msid in (alive, draining, dead):
        await instances.register(database, msid, "0.1.0")
    await instances.set_draining(database, draining)
    await _age(database, dead, 20)
    code = await asyncio.to_thread(main, ["instances", "--db", url])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split() == [
        "id", "version", "schema", "host", "pid", "started", "(UTC)", "heartbeat", "draining",
        "state",
    ]  # fmt: skip
    states = {int(line.split()[0]): line.split()[-1] for line in out[1:]}
    assert states == {alive: "alive", draining: "draining", dead: "dead"}
    row = next(line for line in out if line.startswith(str(dead)))
    assert re.search(
        rf"0\.1\.0\s+{revisions.head()}\s+\S+\s+\d+\s+[\d-]+ [\d:]+\s+20\.\d s ago", row
    )


async def test_no_instance(database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code = await asyncio.to_thread(main, ["instances", "--db", db_url_of(database)])
    assert (code, capsys.readouterr().out) == (0, "no stackshift instance has registered\n")


def test_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code = main(["instances", "--db", f"mysql://cloud:hunter2@127.0.0.1:{port}/cloud"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"stackshift: cannot use the database mysql+pymysql://cloud:***@127.0.0.1:{port}/cloud"
    )
    assert "hunter2" not in err and "Can't connect to MySQL server" in err
