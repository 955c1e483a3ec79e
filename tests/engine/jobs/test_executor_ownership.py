"""A worker that lost its job must leave it alone, even when its own process has meanwhile
claimed the job back (a process presumed dead while its event loop was starved)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from compat_api import job_results
from engine.hosts import HostDrivers
from engine.hypervisor.registry import DriverRegistry, HypervisorSettings
from engine.jobs.executor import FAILED_KEY, run_job
from engine.lifecycle import Step, StepContext
from engine.vm.processes import START
from schema_bridge import job_queue
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job
from tests.compat_api.ops.crashed_job import stopped_vm, submit_start

OWNER = 41


async def _taken_over_and_reclaimed(ctx: StepContext) -> None:
    """Another node hands the job back to the queue, then a second worker of this same
    process claims it again, and only then does this worker notice the loss."""
    async with ctx.db.engine.begin() as conn:
        await job_queue.release(conn, ctx.job.id, ctx.msid)
    async with ctx.db.engine.begin() as conn:
        again = await job_queue.claim_next(conn, ctx.msid)
    assert again is not None and again.id == ctx.job.id
    raise job_queue.LostOwnershipError(f"job {ctx.job.id} is no longer owned by msid {ctx.msid}")


async def test_lost_ownership_in_a_step_never_fails_the_job(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    vm = await stopped_vm(db, seed)
    job_id, _ = await submit_start(db, seed, vm, OWNER)
    async with db.engine.begin() as conn:
        claimed = await job_queue.claim_next(conn, OWNER)
    assert claimed is not None and claimed.id == job_id
    process = replace(START, steps=(Step("lose the job", _taken_over_and_reclaimed),))
    drivers = HostDrivers(db, DriverRegistry(HypervisorSettings()))
    async with db.engine.connect() as conn:
        progress = await job_queue.load_progress(conn, job_id)
    assert progress is not None
    ctx = StepContext(db, claimed, vm.id, dict(progress.state), drivers, OWNER)

    with pytest.raises(job_queue.LostOwnershipError):
        await run_job(ctx, process, 0, job_results.build)

    async with db.engine.connect() as conn:
        status = (
            await conn.execute(select(async_job.c.job_status).where(async_job.c.id == job_id))
        ).scalar_one()
        saved = await job_queue.load_progress(conn, job_id)
    assert status == job_queue.PENDING
    assert saved is not None and FAILED_KEY not in saved.state
