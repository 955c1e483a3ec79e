"""Two stackshift processes on one MariaDB deploy concurrently; one is killed with SIGKILL
mid-deploy. Every job must still complete exactly once: the survivor takes over the dead
process's jobs after its heartbeat stops and resumes them from their saved step, with
nothing leaked or counted twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest

from schema_bridge.db import Database, open_database
from schema_bridge.seed import SeedResult
from tests.engine.kill_drill import (
    check_deployed_once,
    deploy_args,
    deploy_through,
    free_port,
    held_by,
    start_server,
    used_memory,
    wait_port,
    wait_settled,
)
from tests.mariadb_pool import ClonePool

VMS = 12
pytestmark = [pytest.mark.mariadb, pytest.mark.slow]


@pytest.fixture
async def clone(
    mariadb_clones: ClonePool, mariadb_server: str, mariadb_seed_template: tuple[str, SeedResult]
) -> AsyncIterator[tuple[str, Database, SeedResult]]:
    name = await asyncio.to_thread(mariadb_clones.take)
    db = await open_database(f"{mariadb_server}/{name}")
    try:
        yield f"{mariadb_server}/{name}", db, mariadb_seed_template[1]
    finally:
        await db.dispose()
        mariadb_clones.give_back(name)


async def test_sigkill_mid_deploy_every_job_completes_once(
    clone: tuple[str, Database, SeedResult],
) -> None:
    url, db, seed = clone
    memory_before = await used_memory(db)
    ports = [free_port(), free_port()]
    servers = [start_server(url, port, start_delay=1.5) for port in ports]
    try:
        for port in ports:
            await wait_port(port)
        await deploy_through(ports, seed, await deploy_args(db, seed), VMS)
        held = await held_by(db, servers[0].pid)
        servers[0].send_signal(signal.SIGKILL)
        servers[0].wait(timeout=10)
        assert held > 0, "the killed process held no job: the test proved nothing"
        await wait_settled(db)
    finally:
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)
    await check_deployed_once(db, VMS, memory_before)
