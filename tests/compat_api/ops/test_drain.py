"""Draining in-process: a stopping server hands a job it cannot finish in time back, and
another server finishes it exactly once (SQLite and MariaDB)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from compat_api.app import STATE, create_app
from compat_api.ops.runtime import OPS
from compat_api.settings import Settings
from engine.hypervisor.simulator import simulators
from migrate import schema as own_schema
from schema_bridge.capacity import MEMORY
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job, event, host, vm_instance
from tests.compat_api.conftest import Api, db_url_of
from tests.compat_api.ops.crashed_job import stopped_vm, used_capacity
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.engine.test_vm_power import wait_job

Client = Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]]


def fast(url: str) -> Settings:
    return Settings(
        db_url=url,
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=0,
        job_heartbeat_seconds=0.2,
        job_dead_after_seconds=1.5,
        drain_seconds=0.3,
    )


async def owner_of(db: Database, job_uuid: str) -> int | None:
    async with db.engine.connect() as conn:
        query = select(async_job.c.job_executing_msid).where(async_job.c.uuid == job_uuid)
        value = (await conn.execute(query)).scalar()
    return None if value is None else int(value)


async def test_a_draining_server_hands_its_job_to_another(
    seeded_db: tuple[Database, SeedResult], aiohttp_client: Client
) -> None:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    first = Api(await aiohttp_client(create_app(fast(url), db=db)), seed, db)
    vm = await stopped_vm(db, seed)
    before = await used_capacity(db)
    async with db.engine.connect() as conn:
        for ip in (await conn.execute(select(host.c.private_ip_address))).scalars():
            simulators.host(str(ip)).delay("start", 3.0, vm.instance_name, times=1)
    accepted = await first.signed("startVirtualMachine", first.user, id=vm.uuid)
    jobid = accepted.inner("startvirtualmachineresponse")["jobid"]
    first_msid = first.client.app[STATE].engine.msid
    for _ in range(100):
        if await owner_of(db, jobid) == first_msid:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # in the slow start now
    first.client.app[OPS].drain.begin()
    assert (await first.client.get("/readyz")).status == 503
    await first.client.close()  # stop: in-flight requests, then the runner's drain
    # Handed back: the next live runner claims it at once, no dead_after wait.
    assert await owner_of(db, jobid) is None

    second = Api(await aiohttp_client(create_app(fast(url), db=db)), seed, db)
    result = await wait_job(second, jobid, second.user, timeout=30)
    assert result["jobstatus"] == 1, result
    await check_ran_once(db, vm.id, before)


async def check_ran_once(
    db: Database, vm_id: int, before: list[tuple[int | None, int, int]]
) -> None:
    async with db.engine.connect() as conn:
        completed = await conn.scalar(
            select(func.count()).where(
                event.c.resource_id == vm_id,
                event.c.type == "VM.START",
                event.c.state == "Completed",
            )
        )
        row = (await conn.execute(select(vm_instance).where(vm_instance.c.id == vm_id))).one()
    assert completed == 1 and row.state == "Running"
    after = {(h, t): u for h, t, u in await used_capacity(db)}
    was = {(h, t): u for h, t, u in before}
    grew = {k: after[k] - was[k] for k in after if after[k] != was[k]}
    # Memory was reserved once, on one host, for the one VM.
    assert [v for (h, t), v in grew.items() if t == MEMORY] == [512 * 1024 * 1024]
