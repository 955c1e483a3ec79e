"""`stackshift jobs --fail`: end a stuck job as failed, through the engine's own undo path.

Only a job nobody alive runs may be failed (its owner is dead, or it has none): the command
registers itself as a live instance, takes the job over with a compare-and-set on its
status and owner, marks the saved state failed and lets engine.jobs.executor undo the steps
done so far and record the failure, as if the failing step had refused. A job whose
command the engine no longer knows is simply recorded failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from compat_api import job_results
from compat_api.settings import Settings
from engine.hosts import HostDrivers
from engine.hypervisor.registry import DriverRegistry, HypervisorSettings
from engine.jobs.executor import FAILED_KEY, INTERNAL_ERROR, run_job
from engine.lifecycle import StepContext
from engine.processes import all_processes
from schema_bridge import instances, job_queue, job_stats, jobs
from schema_bridge.db import Database
from schema_bridge.job_queue import ClaimedJob

VERSION = "stackshift-cli"


@dataclass(frozen=True)
class FailOutcome:
    done: bool
    message: str


def failure_text(reason: str) -> str:
    return f"Job failed by an operator: {reason}"


async def fail_job(db: Database, uuid: str, reason: str, settings: Settings) -> FailOutcome:
    async with db.engine.connect() as conn:
        job = await job_stats.job_by_uuid(conn, uuid)
        status = await job_stats.status_of(conn, job.id) if job else None
        live = await instances.live_msids(conn, settings.job_dead_after_seconds)
    if job is None:
        return FailOutcome(False, f"no engine job has uuid {uuid}")
    if status != job_queue.PENDING:
        return FailOutcome(False, f"job {uuid} already ended (job_status {status}); nothing to do")
    if job.owner_msid is not None and job.owner_msid in live:
        return FailOutcome(
            False,
            f"job {uuid} is held by live instance msid {job.owner_msid}; stop that instance "
            "(it hands the job back) or wait for it, then try again",
        )
    msid = instances.new_msid()
    await instances.register(db, msid, VERSION)
    done = asyncio.Event()
    beating = asyncio.create_task(_heartbeat(db, msid, settings.job_heartbeat_seconds, done))
    try:
        async with db.engine.begin() as conn:
            claimed = await job_stats.take_for_failing(conn, job.id, msid, live)
        if claimed is None:
            return FailOutcome(
                False, f"job {uuid} changed meanwhile (claimed or ended); look again"
            )
        return await _fail_claimed(db, claimed, msid, reason, settings)
    finally:
        done.set()
        await beating
        await instances.unregister(db, msid)


async def _heartbeat(db: Database, msid: int, seconds: float, done: asyncio.Event) -> None:
    """Undoing a step may call a slow hypervisor; live runners must not take the job back.
    Stopped by `done`, never cancelled: a query cancelled halfway can leave its pooled
    connection out of step with the server."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), seconds)
            return
        await instances.heartbeat(db, msid)


async def _fail_claimed(
    db: Database, job: ClaimedJob, msid: int, reason: str, settings: Settings
) -> FailOutcome:
    process = all_processes().get(str(job.cmd_info.get("command", "")))
    if process is None:
        async with db.engine.begin() as conn:
            text = jobs.failure_result("errorresponse", INTERNAL_ERROR, failure_text(reason))
            done = await job_queue.finish(
                conn, job.id, msid, job_queue.FAILED, INTERNAL_ERROR, text
            )
        return FailOutcome(done, f"job {job.uuid} recorded failed (no engine process to undo)")
    async with db.engine.connect() as conn:
        progress = await job_queue.load_progress(conn, job.id)
    state = dict(progress.state) if progress else {}
    step = progress.step if progress and progress.process == process.name else 0
    state[FAILED_KEY] = {"errorcode": INTERNAL_ERROR, "text": failure_text(reason)}
    drivers = DriverRegistry(HypervisorSettings(libvirt_uri_template=settings.libvirt_uri_template))
    ctx = StepContext(db, job, int(job.instance_id or 0), state, HostDrivers(db, drivers), msid)
    done = await run_job(ctx, process, step, job_results.build)
    if not done:
        return FailOutcome(False, f"job {job.uuid} was taken over while failing it; look again")
    async with db.engine.connect() as conn:
        now = await process.resources.state_of(conn, ctx.resource_id)
    undone = [s.name for s in reversed(process.steps[:step]) if s.undo is not None]
    what = f"undid: {', '.join(undone)}" if undone else "no step needed undoing"
    return FailOutcome(
        True, f"job {job.uuid} marked failed ({what}); {process.resource_type} is now {now}"
    )
