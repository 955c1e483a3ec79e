"""Exactly-once database effects for lifecycle steps.

A step's effect and the record that it happened commit in one transaction: the effect's
result is stored under a key of the job's saved state (its progress row), at the step number
already saved. A job resumed after a crash finds the key and skips the effect; a job that
crashed before the commit finds neither. Galera's certification conflicts (1213) and lock
timeouts are retried here a few times (then handed to the runner, which gives the job back
and resumes it); a lost connection (2013) is resolved by re-reading the saved state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.lifecycle import StepContext
from schema_bridge import db_errors, job_queue
from schema_bridge.job_queue import Progress

ATTEMPTS = 5
Effect = Callable[[AsyncConnection], Awaitable[Any]]


async def _save_with(conn: AsyncConnection, ctx: StepContext, state: dict[str, Any]) -> None:
    current = await job_queue.load_progress(conn, ctx.job.id)
    if current is None:
        raise job_queue.LostOwnershipError(f"job {ctx.job.id} has no progress record")
    await job_queue.save_progress(
        conn, ctx.job.id, ctx.msid, Progress(current.process, current.step, state)
    )


async def _saved_state(ctx: StepContext) -> dict[str, Any]:
    async with ctx.db.reader.connect() as conn:
        progress = await job_queue.load_progress(conn, ctx.job.id)
    return dict(progress.state) if progress else {}


async def once(ctx: StepContext, key: str, effect: Effect) -> Any:
    """Run `effect` in a transaction that also records its (JSON) result under `key`."""
    if key in ctx.state:
        return ctx.state[key]
    for attempt in range(ATTEMPTS):
        try:
            async with ctx.db.engine.begin() as conn:
                value = await effect(conn)
                await _save_with(conn, ctx, {**ctx.state, key: value})
        except DBAPIError as error:
            if db_errors.is_unknown_outcome(error):
                saved = await _saved_state(ctx)
                if key in saved:
                    ctx.state[key] = saved[key]
                    return saved[key]
            transient = db_errors.is_retryable(error) or db_errors.is_unknown_outcome(error)
            if not transient or attempt + 1 == ATTEMPTS:
                raise  # a transient error the runner answers by handing the job back
            # Another node or transaction won this round: back off a little and read again.
            await asyncio.sleep(random.uniform(0, 0.02 * (attempt + 1)))
            continue
        ctx.state[key] = value
        return value
    raise AssertionError("unreachable")
