"""A rolling upgrade of two stackshift instances behind haproxy, with an expand migration,
under continuous load: no failed request, every job run exactly once.

The instances start on this release. The later release (this code plus an expand revision
that adds a table and a column to the live stackshift_instances table, tests/migrate/
later_release.py) first runs `stackshift db upgrade` while both old instances serve; then a
and b are restarted on it one at a time, so for a while an old and a new instance serve side
by side on the expanded schema.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool

from migrate import fleet, revisions
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import db_url_of
from tests.compat_api.ops import servers
from tests.compat_api.ops.crashed_job import stopped_vm
from tests.compat_api.test_cli import free_port
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.migrate import later_release
from tests.ops.test_rolling_restart import (
    SERVER_OPTIONS,
    Balancer,
    Tally,
    capacity,
    check_jobs_ran_exactly_once,
    haproxy,
    load,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

VMS = 3
LATER = [sys.executable, "-m", "tests.migrate.next_release"]


@pytest.fixture
def backend() -> str:
    return "mariadb"  # several processes on one database: the production setting


def _later_env(revisions_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STACKSHIFT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "STACKSHIFT_TEST_REVISIONS": str(revisions_dir),
    }


def start_later(url: str, port: int, log: Path, revisions_dir: Path) -> servers.Server:
    command = [*LATER, "serve", "--db", url, "--port", str(port), *SERVER_OPTIONS]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, cwd=servers.ROOT, env=_later_env(revisions_dir), stdout=out, stderr=out
        )
    return servers.Server(proc, port, log)


def later_cli(revisions_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LATER, *args],
        cwd=servers.ROOT,
        env=_later_env(revisions_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def registered(url: str) -> list[fleet.Instance]:
    engine = create_engine(own_schema.sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return [i for i in fleet.read(conn, 4.0) if i.alive]
    finally:
        engine.dispose()


async def upgrade_one(
    name: str, old: servers.Server, lb: Balancer, url: str, revisions_dir: Path
) -> tuple[int, servers.Server]:
    began = time.monotonic()
    code = await asyncio.to_thread(old.terminate, 90)
    await lb.wait(name, "DOWN")
    new = start_later(url, old.port, old.log, revisions_dir)
    await asyncio.to_thread(servers.wait_ready, new)
    await lb.wait(name, "UP")
    print(
        f"\n{name}: on the later release, back in rotation {time.monotonic() - began:.1f} s later"
    )
    return code, new


@pytest.mark.alters_schema
async def test_rolling_upgrade_with_an_expand_migration(
    seeded_db: tuple[Database, SeedResult], tmp_path: Path
) -> None:
    db, seed = seeded_db
    url = db_url_of(db)
    this_release = revisions.head()
    await asyncio.to_thread(own_schema.upgrade, url)
    later_dir = later_release.write(tmp_path / "later", contract=False)
    vms = [await stopped_vm(db, seed) for _ in range(VMS)]
    before = await capacity(db)
    tally = Tally()
    ports = {name: free_port() for name in ("a", "b")}
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b")}
    running = {n: servers.start(url, ports[n], logs[n], *SERVER_OPTIONS) for n in ("a", "b")}
    exits: list[int] = []
    mixed: list[set[str | None]] = []
    started = time.monotonic()
    try:
        for server in running.values():
            await asyncio.to_thread(servers.wait_ready, server)
        with haproxy(tmp_path, ports["a"], ports["b"]) as lb:
            await lb.wait("a", "UP")
            await lb.wait("b", "UP")
            async with load(tally, f"http://127.0.0.1:{lb.port}", seed, [vm.uuid for vm in vms]):
                await asyncio.sleep(1.5)
                check = await asyncio.to_thread(
                    later_cli, later_dir, "db", "upgrade", "--check", "--db", url
                )
                assert check.returncode == 1 and f"{later_release.EXPAND} (expand)" in check.stdout
                done = await asyncio.to_thread(later_cli, later_dir, "db", "upgrade", "--db", url)
                assert done.returncode == 0, done.stdout + done.stderr
                assert done.stdout.splitlines()[-1] == f"applied {later_release.EXPAND}"
                await asyncio.sleep(1.5)  # both old instances on the expanded schema
                for name in ("a", "b"):
                    code, running[name] = await upgrade_one(name, running[name], lb, url, later_dir)
                    exits.append(code)
                    live = await asyncio.to_thread(registered, url)
                    mixed.append({i.schema_revision for i in live})
                    await asyncio.sleep(1.5)
    finally:
        for server in running.values():
            exits.append(await asyncio.to_thread(server.terminate, 90))
            server.kill()
    print(
        f"rolling upgrade: {tally.sent} requests, {len(tally.failures)} failed, "
        f"{len(tally.jobs)} jobs, {time.monotonic() - started:.1f} s"
    )
    assert tally.failures == [], tally.failures[:5]
    assert exits == [0, 0, 0, 0]
    assert tally.sent > 200 and len(tally.jobs) >= 2 * VMS
    assert own_schema.current(url) == later_release.EXPAND
    # After a: one instance of each release side by side; after b: only the later one.
    assert mixed == [{this_release, later_release.EXPAND}, {later_release.EXPAND}]
    for log in logs.values():
        assert "Traceback" not in log.read_text()
    await check_jobs_ran_exactly_once(db, tally, [vm.id for vm in vms])
    assert await capacity(db) == before
