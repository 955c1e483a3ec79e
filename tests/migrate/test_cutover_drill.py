"""The full drill: the vm subsystem moves from a legacy server (a second stackshift process
on the same MariaDB database, reached by passthrough) to the engine, back one step, and
forward to complete, under continuous load from the real `cs` client. No client request
may fail, every VM made on either side stays visible and operable from the other, and
the history holds every step."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import cs
import pytest
from sqlalchemy import select

from bench.cutover_load import (
    DRILL,
    SWITCHING,
    VM_READS,
    Load,
    Server,
    cli,
    needs_samples,
    served_by,
    start_pair,
    step_argv,
)
from bench.cutover_load import wait_samples as wait_for_samples
from compat_api.commands import build_registry
from migrate import cutover_record
from schema_bridge.db import Database, open_database
from schema_bridge.own_tables import instances
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job, vm_instance
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.engine.kill_drill import deploy_args
from tests.mariadb_pool import ClonePool

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]
IMPLEMENTED = build_registry().names()
MIN_SAMPLES = 5
# The shipped default: lists racing the load's own jobs are measured as noise (the front
# samples the primary twice for every mirrored read, see bench.cutover_load.FRONT_OPTIONS).
MAX_DIFF_RATE = "0.01"
DWELL_SECONDS = 2.0


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


# Who serves the load's vm calls at each step (reads, writes), once routes have settled.
SERVED = (
    ("legacy", "legacy"),
    ("legacy", "legacy"),  # mirror: legacy serves, the engine only shadows
    ("engine", "legacy"),
    ("engine", "engine"),
    ("engine", "legacy"),  # rolled back to reads
    ("engine", "engine"),
    ("engine", "engine"),
)


def phase_name(number: int, action: str, step: str | None) -> str:
    return f"{number}. {action} {step or 'back'}"


async def _take_steps(url: str, db: Database, load: Load) -> list[str]:
    transcript = []
    for number, (action, step) in enumerate(DRILL, 1):
        if needs_samples(action, step):
            await wait_for_samples(db, "vm", MIN_SAMPLES, IMPLEMENTED)
        limits = ["--min-samples", str(MIN_SAMPLES), "--max-diff-rate", MAX_DIFF_RATE]
        load.phase = f"{SWITCHING} {number}"
        # Full priority: the suite's own workers keep both cores busy.
        code, out = await cli(*step_argv(url, action, step, limits), niceness=0)
        transcript.append(out)
        assert code == 0, "\n".join(transcript)
        load.phase = phase_name(number, action, step)
        await asyncio.sleep(DWELL_SECONDS)
    return transcript


async def _msid_of(db: Database, server: Server) -> int:
    async with db.engine.connect() as conn:
        query = select(instances.c.msid).where(instances.c.pid == server.process.pid)
        return int((await conn.execute(query)).scalar_one())


async def _deployed_by(db: Database, msid: int) -> set[str]:
    """Uuids of the VMs whose deploy job `msid` accepted."""
    query = (
        select(vm_instance.c.uuid)
        .join(async_job, async_job.c.instance_id == vm_instance.c.id)
        .where(
            async_job.c.instance_type == "VirtualMachine",
            async_job.c.job_cmd.like("%DeployVMCmd%"),
            async_job.c.job_init_msid == msid,
        )
    )
    async with db.engine.connect() as conn:
        return {str(u) for u in (await conn.execute(query)).scalars()}


def _listed(endpoint: str, seed: SeedResult) -> dict[str, str]:
    api = cs.CloudStack(endpoint=endpoint, key=seed.admin.api_key, secret=seed.admin.secret_key)
    vms = api.listVirtualMachines(listall="true", fetch_list=True)
    return {vm["id"]: vm["state"] for vm in vms}


def _cycle(endpoint: str, seed: SeedResult, vm: str) -> None:
    """Stop and start `vm` through `endpoint`, each job waited for (raises on failure)."""
    api = cs.CloudStack(
        endpoint=endpoint,
        key=seed.admin.api_key,
        secret=seed.admin.secret_key,
        fetch_result=True,
        poll_interval=0.1,
    )
    api.stopVirtualMachine(id=vm)
    api.startVirtualMachine(id=vm)


async def test_vm_cutover_under_load(clone: tuple[str, Database, SeedResult]) -> None:
    url, db, seed = clone
    started = time.monotonic()
    legacy, front = await asyncio.to_thread(start_pair, url, TEST_ENCRYPTION_KEY)
    try:
        load = Load(
            front.endpoint,
            [(seed.user, True), (seed.admin, True), (seed.user, False)],
            await deploy_args(db, seed),
            phase="0. legacy",
        )
        load.start()
        try:
            await asyncio.sleep(DWELL_SECONDS)
            transcript = await _take_steps(url, db, load)
        finally:
            await asyncio.to_thread(load.stop)
        errors = load.errors
        assert errors == [], f"{errors[:5]}\n{front.tail()}\n{legacy.tail()}"
        assert len(load.calls) > 100, len(load.calls)
        phases = ["0. legacy", *(phase_name(n, *s) for n, s in enumerate(DRILL, 1))]
        for phase, (reads, writes) in zip(phases, SERVED, strict=True):
            served = served_by(load.calls, phase)
            expected = {c: {reads if c in VM_READS else writes} for c in served}
            assert served == expected, (phase, served)
        by_legacy = await _deployed_by(db, await _msid_of(db, legacy))
        by_engine = await _deployed_by(db, await _msid_of(db, front))
        assert by_legacy and by_engine, (by_legacy, by_engine, load.vms)
        assert set(load.vms) <= by_legacy | by_engine
        # Visible from both sides, in the same state, and operable from the other side.
        seen_front = await asyncio.to_thread(_listed, front.endpoint, seed)
        seen_legacy = await asyncio.to_thread(_listed, legacy.endpoint, seed)
        assert seen_front == seen_legacy and set(load.vms) <= set(seen_front)
        await asyncio.to_thread(_cycle, front.endpoint, seed, sorted(by_legacy)[0])
        await asyncio.to_thread(_cycle, legacy.endpoint, seed, sorted(by_engine)[0])
    finally:
        await asyncio.to_thread(front.stop)
        await asyncio.to_thread(legacy.stop)
    async with db.engine.connect() as conn:
        history = list(reversed(await cutover_record.records(conn, "vm")))
    assert [(r.action, r.from_step, r.step) for r in history] == [
        ("cutover", "legacy", "mirror"),
        ("cutover", "mirror", "reads"),
        ("cutover", "reads", "writes"),
        ("rollback", "writes", "reads"),
        ("cutover", "reads", "writes"),
        ("cutover", "writes", "complete"),
    ], transcript
    for earlier, later in itertools.pairwise(history):
        assert later.routes_before == earlier.routes_after
        assert later.who == "drill" and later.reason.startswith("drill: ")
    assert time.monotonic() - started < 120
