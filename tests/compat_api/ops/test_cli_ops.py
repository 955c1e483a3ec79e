"""`stackshift status` and `stackshift jobs` as an operator runs them, /metrics summed over
two worker processes, and a SIGTERM that drains before exiting 0."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from compat_api.ops.routing import ENGINE
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.own_tables import instances
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job
from tests.compat_api.conftest import db_url_of
from tests.compat_api.ops import servers
from tests.compat_api.ops.crashed_job import crash_in_start, stopped_vm
from tests.compat_api.test_cli import free_port

DEAD = 0x8000_0000_0003


@pytest.fixture
async def cloud(seeded_db: tuple[Database, SeedResult]) -> tuple[Database, SeedResult, str]:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    return db, seed, url


async def test_status_and_jobs_from_the_database(cloud: tuple[Database, SeedResult, str]) -> None:
    db, seed, url = cloud
    crashed = await crash_in_start(db, seed, DEAD)
    status = await asyncio.to_thread(servers.cli, "status", "--db", url)
    assert status.returncode == 0, status.stderr
    screen = status.stdout
    assert screen.startswith("stackshift: READY")
    assert "! 1 stuck jobs: see `stackshift jobs --stuck`" in screen
    assert "Traffic: not available from the database alone (use --url)" in screen
    assert re.search(r"startVirtualMachine\s+1\s+\d+ s", screen)
    assert "Stuck jobs: 1" in screen and crashed.uuid in screen
    assert re.search(r"\n  vm\s+engine\s+\d+\n", screen)
    assert "password" not in screen.lower()

    stuck = await asyncio.to_thread(servers.cli, "jobs", "--stuck", "--db", url)
    assert stuck.returncode == 0, stuck.stderr
    first, advice = stuck.stdout.splitlines()[1:3]
    assert first.startswith(
        f"  {crashed.uuid}  startVirtualMachine  VirtualMachine {crashed.vm.uuid}"
    )
    assert f"step: start on host (2/2)  owner: {DEAD} (dead)" in first
    assert advice.startswith("      -> owner is dead and no stackshift instance is running")

    no_reason = await asyncio.to_thread(servers.cli, "jobs", "--fail", crashed.uuid, "--db", url)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    failed = await asyncio.to_thread(
        servers.cli, "jobs", "--fail", crashed.uuid, "--reason", "disk gone", "--db", url
    )
    assert failed.returncode == 0, failed.stderr
    assert failed.stdout.strip() == (
        f"job {crashed.uuid} marked failed (undid: start on host, reserve capacity); "
        "VirtualMachine is now Stopped"
    )
    again = await asyncio.to_thread(
        servers.cli, "jobs", "--fail", crashed.uuid, "--reason", "x", "--db", url
    )
    assert again.returncode == 1 and again.stdout.startswith("refused: ")
    empty = await asyncio.to_thread(servers.cli, "jobs", "--db", url)
    assert empty.stdout.splitlines() == ["Pending jobs: 0 (of 0 pending)", "  (none)"]


def _requests(text: str, command: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "stackshift_api_requests_total"
                and sample.labels["command"] == command
            ):
                total += sample.value
    return total


async def test_two_workers_share_metrics_and_status_url(
    cloud: tuple[Database, SeedResult, str], tmp_path: Path
) -> None:
    _, seed, url = cloud
    server = servers.start(url, free_port(), tmp_path / "server.log", "--workers", "2")
    try:
        await asyncio.to_thread(servers.wait_ready, server)
        pids = set()
        for _ in range(30):  # one connection each: SO_REUSEPORT spreads them over the workers
            status, _body = await asyncio.to_thread(
                servers.call, server.base, seed.admin, "listZones"
            )
            assert status == 200
            _, ready = await asyncio.to_thread(servers.get, f"{server.base}/readyz")
            pids.add(re.search(rb'"pid": (\d+)', ready).group(1))  # type: ignore[union-attr]
        assert len(pids) == 2  # both workers answered
        for _ in range(6):  # whichever worker is scraped reports both workers' requests
            _, text = await asyncio.to_thread(servers.get, f"{server.base}/metrics")
            assert _requests(text.decode(), "listZones") == 30
        shown = await asyncio.to_thread(
            servers.cli, "status", "--url", server.base, "--window", "0.5"
        )
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("stackshift: READY")
        assert re.search(r"\n  listZones\s+engine\s+30\s+0\.0\s+0\s+0\.0%", shown.stdout), (
            shown.stdout
        )
        assert "Slowest commands:" in shown.stdout
        assert re.search(rf"\n  vm\s+{ENGINE}\s+\d+\n", shown.stdout)
        assert len(re.findall(r"alive\n", shown.stdout + "\n")) >= 2
    finally:
        code = await asyncio.to_thread(server.terminate)
        server.kill()
    assert code == 0, server.log.read_text()


async def test_sigterm_drains_then_exits_zero(
    cloud: tuple[Database, SeedResult, str], tmp_path: Path
) -> None:
    db, seed, url = cloud
    log = tmp_path / "server.log"
    options = ("--workers", "1", "--drain-delay", "2", "--simulator-delay", "start=1.5")
    server = servers.start(url, free_port(), log, *options)
    try:
        await asyncio.to_thread(servers.wait_ready, server)
        vm = await stopped_vm(db, seed)
        _status, body = await asyncio.to_thread(
            servers.call, server.base, seed.user, "startVirtualMachine", id=vm.uuid
        )
        jobid = body["startvirtualmachineresponse"]["jobid"]
        await asyncio.sleep(0.5)  # claimed, and inside the slow start
        server.proc.send_signal(15)
        await asyncio.sleep(0.3)
        code, ready = await asyncio.to_thread(servers.get, f"{server.base}/readyz")
        assert code == 503 and b'"draining": true' in ready
        assert (await asyncio.to_thread(servers.call, server.base, seed.admin, "listZones"))[
            0
        ] == 200
        async with db.engine.connect() as conn:
            assert (await conn.execute(select(instances.c.draining))).scalars().all() == [1]
        started = time.monotonic()
        exit_code = await asyncio.to_thread(server.proc.wait, 60)
    finally:
        server.kill()
    assert exit_code == 0
    assert time.monotonic() - started < 30
    async with db.engine.connect() as conn:
        job = (await conn.execute(select(async_job).where(async_job.c.uuid == jobid))).one()
        left = (await conn.execute(select(instances.c.msid))).scalars().all()
    assert job.job_status == 1  # finished while draining, not abandoned
    assert left == []
    text = log.read_text()
    assert "event=drain delay_s=2.0" in text and "Traceback" not in text
