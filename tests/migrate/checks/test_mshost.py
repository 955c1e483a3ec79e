"""Legacy management servers and the jobs still pending on one that is gone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import insert

from migrate import schema as own_schema
from migrate.checks import Target
from migrate.checks import mshost as mshost_check
from schema_bridge import instances
from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job, mshost
from tests.compat_api.conftest import db_url_of

UP, DOWN, STALE, UNKNOWN = 7001, 7002, 7003, 7999


async def _servers(db: Database) -> None:
    now = utc_now()
    rows = [
        (UP, "ms-up", "Up", now),
        (DOWN, "ms-down", "Down", now - timedelta(hours=1)),
        (STALE, "ms-stale", "Up", now - timedelta(minutes=10)),
    ]
    async with db.engine.begin() as conn:
        for msid, name, state, seen in rows:
            await conn.execute(
                insert(mshost).values(
                    msid=msid,
                    runid=1,
                    name=name,
                    uuid=str(uuid.uuid4()),
                    state=state,
                    version="4.20.2.0",
                    service_ip="10.0.0.1",
                    service_port=9090,
                    last_update=seen,
                )
            )


async def _pending_job(db: Database, executing: int | None, init: int) -> str:
    job = str(uuid.uuid4())
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(async_job).values(
                user_id=2,
                account_id=2,
                related="",
                job_cmd="org.apache.cloudstack.api.command.user.vm.StartVMCmd",
                job_status=0,
                job_init_msid=init,
                job_executing_msid=executing,
                created=utc_now(),
                uuid=job,
            )
        )
    return job


async def test_servers_and_orphan_jobs(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    await _servers(db)
    stackshift = instances.new_msid()
    await instances.register(db, stackshift, "test")
    await _pending_job(db, UP, UP)  # running on a live server
    await _pending_job(db, None, stackshift)  # queued by a live stackshift instance
    on_down = await _pending_job(db, DOWN, UP)  # the executing server went away
    on_stale = await _pending_job(db, None, STALE)  # says Up, stopped heartbeating
    lost = await _pending_job(db, None, UNKNOWN)  # a server no longer in mshost
    servers, orphans = await mshost_check.run(Target(db=db, url=url))
    assert servers.line() == (
        f"PASS mshost: 1 Up: ms-up (4.20.2.0, msid {UP}); 2 not Up "
        "(marked Up but silent for over 150 s: ms-stale)"
    )
    assert orphans.status == "FAIL"
    assert orphans.found == (
        f"3 pending jobs belong to a gone management server: 1 on ms-down (msid {DOWN}): "
        f"{on_down}; 1 on ms-stale (msid {STALE}): {on_stale}; 1 on unknown server "
        f"(msid {UNKNOWN}): {lost}"
    )
    assert orphans.todo.startswith("start a legacy management server")


async def test_a_server_on_another_version(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(mshost).values(
                msid=UP,
                runid=1,
                name="ms-old",
                state="Up",
                version="4.19.1.0",
                service_ip="10.0.0.1",
                service_port=9090,
                last_update=utc_now(),
            )
        )
    servers, orphans = await mshost_check.run(Target(db=db, url=db_url_of(db)))
    assert servers.line() == (
        f"WARN mshost: 1 Up: ms-old (4.19.1.0, msid {UP}); 0 not Up; running 4.19.1.0 on a "
        "4.20.2.0 database. To do: finish the CloudStack upgrade on every management server first"
    )
    assert orphans.line() == "PASS orphan_jobs: no pending job waits on a gone management server"
