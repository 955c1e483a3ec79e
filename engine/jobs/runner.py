"""The job runner of one stackshift process: claim, execute, heartbeat, take over, drain.

Several worker tasks per process and several processes share the queue in `async_job`.
A process registers itself with a heartbeat; jobs held by a process whose heartbeat is
older than `dead_after` are handed back to the queue and resumed from their saved step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from engine.jobs.executor import Failure, run_job
from engine.lifecycle import HypervisorLookup, Process, ResultBuilder, StepContext
from schema_bridge import db_errors, instances, job_queue
from schema_bridge.db import Database
from schema_bridge.job_queue import ClaimedJob

LOG = logging.getLogger("stackshift.engine")


@dataclass
class RunnerSettings:
    concurrency: int = 8
    poll_seconds: float = 0.5
    heartbeat_seconds: float = 2.0
    dead_after_seconds: float = 15.0
    version: str = "0.1.0"


@dataclass
class JobRunner:
    db: Database
    msid: int
    processes: Mapping[str, Process]
    build: ResultBuilder
    hypervisor: HypervisorLookup
    settings: RunnerSettings = field(default_factory=RunnerSettings)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False
    _in_flight: set[int] = field(default_factory=set)
    _recheck: bool = False

    def wake(self) -> None:
        """A job was just submitted here: skip the poll delay."""
        self._wake.set()

    async def start(self) -> None:
        await instances.register(self.db, self.msid, self.settings.version)
        self._tasks = [asyncio.create_task(self._work(n)) for n in range(self.settings.concurrency)]
        self._tasks.append(asyncio.create_task(self._watch()))

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming, let jobs in flight finish for `grace_seconds`, hand the rest back."""
        self._stopping = True
        self._wake.set()
        await instances.set_draining(self.db, self.msid)
        workers, watcher = self._tasks[:-1], self._tasks[-1:]
        _, pending = (
            await asyncio.wait(workers, timeout=grace_seconds) if workers else (set(), set())
        )
        # Taken before cancelling: a cancelled worker forgets its job on the way out.
        unfinished = set(self._in_flight)
        for task in [*pending, *watcher]:
            task.cancel()
        for task in [*pending, *watcher]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for job_id in unfinished:
            await self._release_quietly(job_id)
        await instances.unregister(self.db, self.msid)

    async def _work(self, worker: int) -> None:
        while not self._stopping:
            job = await self._claim()
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
                continue
            if job.id in self._in_flight:
                # Presumed dead while busy (a starved event loop misses heartbeats), this
                # process got its own job back: the worker still running it carries on.
                LOG.warning(
                    "job=%s: reclaimed while still running here; not started twice", job.uuid
                )
                continue
            self._in_flight.add(job.id)
            try:
                await self._execute(job)
            except job_queue.LostOwnershipError as lost:
                LOG.warning("job=%s: %s; leaving it to its new owner", job.uuid, lost)
            except DBAPIError as error:
                # A conflict or a lost connection mid-job: hand it back; whoever claims it
                # next resumes from the last saved step.
                LOG.warning(
                    "job=%s: database error %s; handing it back",
                    job.uuid,
                    db_errors.errno_of(error),
                )
                await self._release_quietly(job.id)
            except Exception:  # a bug must not kill the worker; the job is handed back
                LOG.exception("job=%s crashed its worker; handing it back", job.uuid)
                async with self.db.engine.begin() as conn:
                    await job_queue.release(conn, job.id, self.msid)
            finally:
                self._in_flight.discard(job.id)

    async def _claim(self) -> ClaimedJob | None:
        try:
            async with self.db.engine.begin() as conn:
                return await job_queue.claim_next(conn, self.msid)
        except DBAPIError as error:
            if db_errors.is_retryable(error):
                return None  # another node won this row; try again
            if db_errors.is_unknown_outcome(error):
                # If the COMMIT did land, this process owns a job it does not run; its
                # heartbeat keeps it "alive", so hand such jobs back on the next watch.
                LOG.warning("claim outcome unknown (connection lost); re-reading on the next watch")
                self._recheck = True
                return None
            raise

    async def _execute(self, job: ClaimedJob) -> None:
        async with self.db.engine.connect() as conn:
            progress = await job_queue.load_progress(conn, job.id)
        process = self._process_for(job, progress)
        state = dict(progress.state) if progress else {}
        step = progress.step if progress and progress.process == process.name else 0
        ctx = StepContext(
            self.db, job, int(job.instance_id or 0), state, self.hypervisor, self.msid
        )
        await run_job(ctx, process, step, self.build)

    def _process_for(self, job: ClaimedJob, progress: job_queue.Progress | None) -> Process:
        # A command with variants (deployVirtualMachine with startvm=false) names the process
        # it submitted in the job's progress record, under which variants are registered too.
        if progress is not None and progress.process in self.processes:
            return self.processes[progress.process]
        name = str(job.cmd_info.get("command", ""))
        process = self.processes.get(name)
        if process is None:
            raise LookupError(f"no engine process for command {name!r} (job {job.uuid})")
        return process

    async def _watch(self) -> None:
        """Heartbeat, and hand back jobs whose owner died (never finish them twice)."""
        while True:
            try:
                await instances.heartbeat(self.db, self.msid)
                await self._take_over()
            except DBAPIError as error:
                LOG.warning("heartbeat failed: %s", error.orig)
            await asyncio.sleep(self.settings.heartbeat_seconds)

    async def _release_quietly(self, job_id: int) -> None:
        try:
            async with self.db.engine.begin() as conn:
                await job_queue.release(conn, job_id, self.msid)
        except DBAPIError as error:
            LOG.warning(
                "job id=%s could not be handed back (%s); takeover will", job_id, error.orig
            )

    async def _take_over(self) -> None:
        if self._recheck:
            self._recheck = False
            async with self.db.engine.begin() as conn:
                for job_id in await job_queue.held_by(conn, self.msid, exclude=self._in_flight):
                    LOG.warning(
                        "job id=%s was claimed by a commit whose answer was lost; handing it back",
                        job_id,
                    )
                    await job_queue.release(conn, job_id, self.msid)
        async with self.db.engine.begin() as conn:
            live = await instances.live_msids(conn, self.settings.dead_after_seconds)
            for job_id, owner in await job_queue.orphaned(conn, live):
                LOG.warning(
                    "job id=%s: owner msid=%s stopped heartbeating; resuming it here", job_id, owner
                )
                await job_queue.release(conn, job_id, owner)
        self._wake.set()


__all__ = ["Failure", "JobRunner", "RunnerSettings"]
