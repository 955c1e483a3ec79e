"""The engine's job queue in the legacy `async_job` table: claim, progress, finish, take over.

Claims follow what was measured on Galera: row locks are local to a node, so two nodes may
both select the same row; only a committed conditional UPDATE is a claim, and the loser's
COMMIT fails with 1213 (the caller retries). A lost connection (2013) leaves the outcome
unknown; `owner_of` re-reads instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import for_update, utc_now
from schema_bridge.jobs import NewJob
from schema_bridge.own_tables import job_progress
from schema_bridge.tables import async_job

ENGINE_DISPATCHER = "StackshiftJobDispatcher"
PENDING, SUCCEEDED, FAILED = 0, 1, 2


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    uuid: str
    user_id: int
    account_id: int
    job_cmd: str
    cmd_info: dict[str, Any]
    instance_type: str | None
    instance_id: int | None


@dataclass(frozen=True)
class Progress:
    process: str
    step: int
    state: dict[str, Any]


def _claimable() -> Any:
    earlier = async_job.alias("earlier")
    # One job at a time per resource, in submission order: a job waits while an earlier
    # job of the same resource is still pending.
    blocked = exists().where(
        earlier.c.instance_type == async_job.c.instance_type,
        earlier.c.instance_id == async_job.c.instance_id,
        earlier.c.job_status == PENDING,
        earlier.c.id < async_job.c.id,
    )
    return and_(
        async_job.c.job_status == PENDING,
        async_job.c.job_dispatcher == ENGINE_DISPATCHER,
        async_job.c.job_executing_msid.is_(None),
        or_(async_job.c.instance_id.is_(None), ~blocked),
    )


async def claim_next(conn: AsyncConnection, msid: int) -> ClaimedJob | None:
    """Pick and mark one claimable job inside the caller's transaction.

    The claim counts only once the caller's COMMIT succeeds.
    """
    pick = select(async_job.c.id).where(_claimable()).order_by(async_job.c.id).limit(1)
    job_id = (await conn.execute(for_update(pick, skip_locked=True))).scalar()
    if job_id is None:
        return None
    marked = await conn.execute(
        update(async_job)
        .where(async_job.c.id == job_id, async_job.c.job_executing_msid.is_(None))
        .values(job_executing_msid=msid, last_updated=utc_now())
    )
    if marked.rowcount != 1:
        return None
    row = (await conn.execute(select(async_job).where(async_job.c.id == job_id))).one()
    return ClaimedJob(
        id=row.id,
        uuid=row.uuid,
        user_id=row.user_id,
        account_id=row.account_id,
        job_cmd=row.job_cmd,
        cmd_info=json.loads(row.job_cmd_info or "{}"),
        instance_type=row.instance_type,
        instance_id=row.instance_id,
    )


async def owner_of(conn: AsyncConnection, job_id: int) -> tuple[int | None, int | None]:
    """(job_status, executing msid) as committed: how an unknown outcome is resolved."""
    row = (
        await conn.execute(
            select(async_job.c.job_status, async_job.c.job_executing_msid).where(
                async_job.c.id == job_id
            )
        )
    ).one()
    return row.job_status, row.job_executing_msid


async def load_progress(conn: AsyncConnection, job_id: int) -> Progress | None:
    row = (await conn.execute(select(job_progress).where(job_progress.c.job_id == job_id))).first()
    return None if row is None else Progress(row.process, row.step, json.loads(row.state))


class LostOwnershipError(Exception):
    """Another process took the job over (this one was presumed dead); stop working on it."""


async def save_progress(conn: AsyncConnection, job_id: int, msid: int, progress: Progress) -> None:
    """Record the next step, only while `msid` still owns the job."""
    owned = await conn.execute(
        update(async_job)
        .where(async_job.c.id == job_id, async_job.c.job_executing_msid == msid)
        .values(last_updated=utc_now())
    )
    if owned.rowcount != 1:
        raise LostOwnershipError(f"job {job_id} is no longer owned by msid {msid}")
    values = {
        "process": progress.process,
        "step": progress.step,
        "state": json.dumps(progress.state, sort_keys=True),
        "updated": utc_now(),
    }
    changed = await conn.execute(
        update(job_progress).where(job_progress.c.job_id == job_id).values(**values)
    )
    if changed.rowcount == 0:
        await conn.execute(insert(job_progress).values(job_id=job_id, **values))


async def start_progress(conn: AsyncConnection, job_id: int, progress: Progress) -> None:
    """The first progress row, written with the job at submission (it carries the args)."""
    await conn.execute(
        insert(job_progress).values(
            job_id=job_id,
            process=progress.process,
            step=progress.step,
            state=json.dumps(progress.state, sort_keys=True),
            updated=utc_now(),
        )
    )


async def finish(
    conn: AsyncConnection, job_id: int, msid: int, status: int, result_code: int, result: str | None
) -> bool:
    """Record the outcome as AsyncJobManager does (complete msid set, executing msid cleared,
    `removed` = completion time); False when this process no longer owns the job."""
    now = utc_now()
    done = await conn.execute(
        update(async_job)
        .where(
            async_job.c.id == job_id,
            async_job.c.job_executing_msid == msid,
            async_job.c.job_status == PENDING,
        )
        .values(
            job_status=status,
            job_result_code=result_code,
            job_result=result,
            job_complete_msid=msid,
            job_executing_msid=None,
            job_process_status=0,
            last_updated=now,
            removed=now,
        )
    )
    if done.rowcount != 1:
        return False
    await conn.execute(delete(job_progress).where(job_progress.c.job_id == job_id))
    return True


async def insert_engine_job(conn: AsyncConnection, job: NewJob, progress: Progress) -> int:
    """A submitted job for the engine: pending, unclaimed, with its first progress row."""
    now = job.created or utc_now()
    result = await conn.execute(
        insert(async_job).values(
            uuid=job.uuid, user_id=job.user_id, account_id=job.account_id,
            instance_type=job.instance_type, instance_id=job.instance_id,
            job_cmd=job.cmd, job_cmd_info=job.cmd_info, job_cmd_ver=0,
            job_status=PENDING, job_process_status=0, job_result_code=0,
            job_init_msid=job.msid, job_executing_msid=None,
            job_dispatcher=ENGINE_DISPATCHER, related="", job_pending_signals=0,
            created=now, last_updated=now,
        )
    )  # fmt: skip
    key = result.inserted_primary_key
    assert key is not None
    job_id = int(key[0])
    await start_progress(conn, job_id, progress)
    return job_id


async def release(conn: AsyncConnection, job_id: int, msid: int) -> None:
    """Hand a job back (drain, or a dead owner): another process resumes it from its step."""
    await conn.execute(
        update(async_job)
        .where(
            async_job.c.id == job_id,
            async_job.c.job_executing_msid == msid,
            async_job.c.job_status == PENDING,
        )
        .values(job_executing_msid=None, last_updated=utc_now())
    )


async def orphaned(conn: AsyncConnection, live_msids: list[int]) -> list[tuple[int, int]]:
    """(job id, msid) of engine jobs executing on a process that is not alive."""
    query = select(async_job.c.id, async_job.c.job_executing_msid).where(
        async_job.c.job_status == PENDING,
        async_job.c.job_dispatcher == ENGINE_DISPATCHER,
        async_job.c.job_executing_msid.is_not(None),
        async_job.c.job_executing_msid.not_in(live_msids),
    )
    return [(int(r.id), int(r.job_executing_msid)) for r in (await conn.execute(query)).all()]


def now() -> datetime:
    return utc_now()


async def has_pending(conn: AsyncConnection, instance_type: str, instance_id: int) -> bool:
    """Whether a job on this resource is still pending (a new one will queue behind it)."""
    query = select(async_job.c.id).where(
        async_job.c.instance_type == instance_type,
        async_job.c.instance_id == instance_id,
        async_job.c.job_status == PENDING,
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def held_by(conn: AsyncConnection, msid: int, exclude: set[int]) -> list[int]:
    """Pending jobs marked as executing on `msid` that it is not actually running."""
    query = select(async_job.c.id).where(
        async_job.c.job_status == PENDING,
        async_job.c.job_executing_msid == msid,
    )
    return [int(i) for i in (await conn.execute(query)).scalars() if int(i) not in exclude]
