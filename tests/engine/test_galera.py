"""Deploys on a real 3-node MariaDB Galera cluster: two stackshift processes on different
nodes, one node killed and rejoined, and every job still completes exactly once.

The cluster comes from ../shared/galera/galera.sh (loopback only, ports 3311-3313).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate import schema as own_schema
from schema_bridge.db import Database, create_database_if_missing, open_database
from schema_bridge.seed import SeedResult, init_database
from tests.conftest import TEST_ENCRYPTION_KEY
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
from tests.shared_facts import shared_path

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]
NODES = {1: 3311, 2: 3312, 3: 3313}
VMS = 16


def galera(script: Path, *args: str, timeout: float = 240) -> None:
    subprocess.run(
        ["bash", str(script), *args],
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Path, Path]]:
    script = shared_path("galera", "galera.sh")
    # The nodes run as the mysql user: the directory must be reachable by it.
    where = Path(tempfile.mkdtemp(prefix="stackshift-galera-"))
    where.chmod(0o755)
    galera(script, "start", str(where / "cluster"))
    try:
        yield script, where / "cluster"
    finally:
        galera(script, "destroy", str(where / "cluster"), timeout=300)
        where.rmdir()


def node_url(node: int) -> str:
    return f"mysql://root@127.0.0.1:{NODES[node]}/ss_galera"


async def prepare() -> tuple[Database, SeedResult]:
    await create_database_if_missing(node_url(1))
    db = await open_database(node_url(1))
    seed = await init_database(db, hosts=4, encryption_key=TEST_ENCRYPTION_KEY)
    await asyncio.to_thread(own_schema.upgrade, node_url(1))
    return db, seed


async def test_deploys_on_two_nodes_a_node_killed_every_job_once(
    cluster: tuple[Path, Path],
) -> None:
    script, where = cluster
    db, seed = await prepare()
    memory_before = await used_memory(db)
    ports = {1: free_port(), 3: free_port()}
    servers = {
        node: start_server(node_url(node), port, start_delay=2) for node, port in ports.items()
    }
    try:
        for port in ports.values():
            await wait_port(port)
        await deploy_through(list(ports.values()), seed, await deploy_args(db, seed), VMS)
        held = await held_by(db, servers[1].pid)
        assert held > 0, "the process on the killed node held no job: the test proved nothing"
        await asyncio.to_thread(galera, script, "kill-node", str(where), "1")
        await db.dispose()
        db = await open_database(node_url(3))
        await asyncio.sleep(5)
        await asyncio.to_thread(galera, script, "start-node", str(where), "1")
        await wait_settled(db, galera=True)
    finally:
        for server in servers.values():
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=90)
    await check_deployed_once(db, VMS, memory_before, galera=True)
    await db.dispose()
