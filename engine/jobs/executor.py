"""Running one claimed job through its process: enter, steps, finish — or undo and fail.

Every step's effect is either committed together with the progress record or idempotent,
so a job resumed by another process after a crash repeats at most the step that was in
flight, and that step's repetition changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from engine.lifecycle import JobOutcome, Process, ResultBuilder, StepContext, StepFailedError
from schema_bridge import db_errors, job_queue, jobs
from schema_bridge.events import NewEvent, record
from schema_bridge.job_queue import Progress

LOG = logging.getLogger("stackshift.engine")
INTERNAL_ERROR = 530
FAILED_KEY = "_failed"  # set in the saved state once undo has begun


@dataclass(frozen=True)
class Failure:
    errorcode: int
    text: str


def job_result_text(outcome: JobOutcome) -> str:
    """`<response class>/<object name>/<JSON>`, as CloudStack stores async_job.job_result."""
    if outcome.object_name is None:
        return jobs.success_result()
    return jobs.object_result(outcome.response_class, outcome.object_name, outcome.payload)


def failure_text(process: Process, failure: Failure) -> str:
    return jobs.failure_result(
        f"{process.command.lower()}response", failure.errorcode, failure.text
    )


def _failure(exc: BaseException, process: Process, step: str) -> Failure:
    if isinstance(exc, StepFailedError):
        return Failure(exc.errorcode, exc.text)
    return Failure(INTERNAL_ERROR, f"{process.name} failed in step {step}: {exc}")


async def _event(ctx: StepContext, process: Process, state: str, level: str, text: str) -> None:
    async with ctx.db.engine.begin() as conn:
        await record(conn, _new_event(ctx, process, state, level, text))


def _new_event(ctx: StepContext, process: Process, state: str, level: str, text: str) -> NewEvent:
    job = ctx.job
    return NewEvent(
        type=process.event_type,
        description=text,
        user_id=job.user_id,
        account_id=job.account_id,
        domain_id=int(ctx.state.get("domain_id", 1)),
        created=job_queue.now(),
        resource_id=ctx.resource_id,
        resource_type=process.resource_type,
        level=level,
        state=state,
        start_id=int(job.cmd_info.get("ctxStartEventId", 0)),
    )


async def _enter(ctx: StepContext, process: Process) -> bool:
    """The first transition and the first progress record commit together."""
    async with ctx.db.engine.begin() as conn:
        moved = await process.resources.transit(
            conn, ctx.resource_id, process.start_states, process.transitioning
        )
        if not moved:
            return False
        await job_queue.save_progress(
            conn, ctx.job.id, ctx.msid, Progress(process.name, 1, ctx.state)
        )
    return True


async def _save(ctx: StepContext, process: Process, step: int) -> None:
    async with ctx.db.engine.begin() as conn:
        await job_queue.save_progress(
            conn, ctx.job.id, ctx.msid, Progress(process.name, step, ctx.state)
        )


async def run_job(ctx: StepContext, process: Process, resume_at: int, build: ResultBuilder) -> bool:
    """Run (or resume) the job; True when this process recorded the outcome."""
    if ctx.state.get(FAILED_KEY):
        return await _undo_and_fail(ctx, process, resume_at, Failure(**ctx.state[FAILED_KEY]))
    if resume_at == 0:
        await _event(ctx, process, "Started", "INFO", f"{process.name} started")
        if not await _enter(ctx, process):
            state = await _current_state(ctx, process)
            wanted = ", ".join(process.start_states)
            text = (
                f"{process.resource_type} is in state {state}; {process.name} needs one of {wanted}"
            )
            return await _fail(ctx, process, Failure(431, text), transit=False)
        resume_at = 1
    for index in range(resume_at - 1, len(process.steps)):
        step = process.steps[index]
        try:
            await step.run(ctx)
        except job_queue.LostOwnershipError:
            raise  # another worker owns the job now: its outcome is the only one
        except Exception as exc:  # any failure of a step is answered by undoing the process
            if _transient(exc):
                raise  # the runner hands the job back and the step runs again
            LOG.warning("job=%s step=%s failed: %s", ctx.job.uuid, step.name, exc)
            failure = _failure(exc, process, step.name)
            ctx.state[FAILED_KEY] = {"errorcode": failure.errorcode, "text": failure.text}
            await _save(ctx, process, index + 1)
            return await _undo_and_fail(ctx, process, index + 1, failure)
        await _save(ctx, process, index + 2)
    return await _succeed(ctx, process, build)


def _transient(exc: Exception) -> bool:
    """A database conflict or lost connection, not a verdict on the step."""
    return isinstance(exc, DBAPIError) and (
        db_errors.is_retryable(exc) or db_errors.is_unknown_outcome(exc)
    )


async def _current_state(ctx: StepContext, process: Process) -> str | None:
    async with ctx.db.engine.connect() as conn:
        return await process.resources.state_of(conn, ctx.resource_id)


async def _undo_and_fail(
    ctx: StepContext, process: Process, done_steps: int, failure: Failure
) -> bool:
    """Undo steps done_steps-1 .. 0 (the failing one too: its effects may be partial)."""
    for index in range(done_steps - 1, -1, -1):
        undo = process.steps[index].undo
        if undo is not None:
            try:
                await undo(ctx)
            except Exception as exc:  # an undo that fails is logged and the rest still run
                LOG.error(
                    "job=%s undo of step=%s failed: %s",
                    ctx.job.uuid,
                    process.steps[index].name,
                    exc,
                )
        await _save(ctx, process, index)
    return await _fail(ctx, process, failure, transit=True)


async def _fail(ctx: StepContext, process: Process, failure: Failure, *, transit: bool) -> bool:
    async with ctx.db.engine.begin() as conn:
        if transit:
            await process.resources.transit(
                conn, ctx.resource_id, (process.transitioning,), process.error
            )
        owned = await job_queue.finish(
            conn,
            ctx.job.id,
            ctx.msid,
            job_queue.FAILED,
            failure.errorcode,
            failure_text(process, failure),
        )
        if owned:
            await record(
                conn,
                _new_event(
                    ctx,
                    process,
                    "Completed",
                    "ERROR",
                    f"{process.name} failed: {failure.text}",
                ),
            )
    return owned


async def _succeed(ctx: StepContext, process: Process, build: ResultBuilder) -> bool:
    async with ctx.db.engine.begin() as conn:
        moved = await process.resources.transit(
            conn, ctx.resource_id, (process.transitioning,), process.done
        )
        if not moved:
            # Someone else (the legacy server) changed the resource under us: report it.
            state = await process.resources.state_of(conn, ctx.resource_id)
            failure = Failure(
                INTERNAL_ERROR,
                f"{process.resource_type} changed to {state} while {process.name} ran",
            )
            return await job_queue.finish(
                conn,
                ctx.job.id,
                ctx.msid,
                job_queue.FAILED,
                failure.errorcode,
                failure_text(process, failure),
            )
        outcome = await build(conn, process, ctx)
        owned = await job_queue.finish(
            conn, ctx.job.id, ctx.msid, job_queue.SUCCEEDED, 0, job_result_text(outcome)
        )
        if not owned:
            # Taken over meanwhile: roll back so the new owner's outcome is the only one.
            await conn.rollback()
            return False
        await record(
            conn,
            _new_event(ctx, process, "Completed", "INFO", f"{process.name} completed"),
        )
    return True
