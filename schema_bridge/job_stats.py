"""What operators ask of the engine's job queue: backlog, pending jobs with their progress,
live processes, recent completions, and the compare-and-set that lets an operator fail a job.

Only engine jobs (`job_dispatcher` = StackshiftJobDispatcher) are read: jobs the legacy
management server runs are its own to watch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.job_queue import ENGINE_DISPATCHER, PENDING, ClaimedJob
from schema_bridge.jobs import instance_uuids
from schema_bridge.own_tables import instances, job_progress
from schema_bridge.tables import async_job, host

# A backlog larger than this is summarised by `backlog` alone; listing every row would make
# the status page and the readiness probe as slow as the problem they report.
DETAIL_LIMIT = 1000


@dataclass(frozen=True)
class Backlog:
    job_cmd: str
    pending: int
    oldest_created: datetime


@dataclass(frozen=True)
class PendingJob:
    id: int
    uuid: str
    job_cmd: str
    command: str
    instance_type: str | None
    instance_id: int | None
    resource_uuid: str | None
    owner_msid: int | None
    created: datetime
    last_updated: datetime | None
    process: str | None
    step: int | None
    progress_updated: datetime | None
    state: dict[str, Any]


@dataclass(frozen=True)
class InstanceRow:
    msid: int
    version: str
    hostname: str
    pid: int
    started: datetime
    heartbeat: datetime
    draining: bool


@dataclass(frozen=True)
class CompletedJob:
    id: int
    job_cmd: str
    command: str
    status: int
    created: datetime
    removed: datetime


def _pending() -> Any:
    return (
        async_job.c.removed.is_(None),
        async_job.c.job_status == PENDING,
        async_job.c.job_dispatcher == ENGINE_DISPATCHER,
    )


def command_of(job_cmd: str, cmd_info: str | None) -> str:
    """The API command (engine jobs record it in job_cmd_info), else the Java class's name."""
    try:
        info = json.loads(cmd_info or "{}")
    except ValueError:
        info = {}
    name = info.get("command") if isinstance(info, dict) else None
    return str(name) if name else job_cmd.rsplit(".", 1)[-1]


async def backlog(conn: AsyncConnection) -> list[Backlog]:
    """Pending engine jobs per job_cmd: how many and since when (exact, however many)."""
    query = (
        select(async_job.c.job_cmd, func.count(), func.min(async_job.c.created))
        .where(*_pending())
        .group_by(async_job.c.job_cmd)
    )
    return [Backlog(str(cmd), int(n), oldest) for cmd, n, oldest in await conn.execute(query)]


def _with_progress() -> Any:
    return select(
        async_job,
        job_progress.c.process,
        job_progress.c.step,
        job_progress.c.state,
        job_progress.c.updated.label("progress_updated"),
    ).select_from(async_job.outerjoin(job_progress, job_progress.c.job_id == async_job.c.id))


async def _read(conn: AsyncConnection, query: Any) -> list[PendingJob]:
    rows = list((await conn.execute(query)).all())
    uuids = await instance_uuids(conn, rows)
    return [_pending_job(row, uuids) for row in rows]


async def pending_jobs(conn: AsyncConnection, limit: int = DETAIL_LIMIT) -> list[PendingJob]:
    """The oldest pending engine jobs with their saved progress and resource uuid."""
    return await _read(
        conn, _with_progress().where(*_pending()).order_by(async_job.c.id).limit(limit)
    )


def _pending_job(row: Any, uuids: dict[tuple[str, int], str]) -> PendingJob:
    key = (row.instance_type, int(row.instance_id)) if row.instance_id is not None else None
    try:
        state = json.loads(row.state) if row.state else {}
    except ValueError:
        state = {}
    return PendingJob(
        id=int(row.id),
        uuid=str(row.uuid),
        job_cmd=str(row.job_cmd),
        command=command_of(row.job_cmd, row.job_cmd_info),
        instance_type=row.instance_type,
        instance_id=None if row.instance_id is None else int(row.instance_id),
        resource_uuid=uuids.get(key) if key else None,
        owner_msid=None if row.job_executing_msid is None else int(row.job_executing_msid),
        created=row.created,
        last_updated=row.last_updated,
        process=row.process,
        step=row.step,
        progress_updated=row.progress_updated,
        state=state if isinstance(state, dict) else {},
    )


async def job_by_uuid(conn: AsyncConnection, uuid: str) -> PendingJob | None:
    """One engine job by uuid, pending or not (`status_of` tells which)."""
    query = _with_progress().where(
        async_job.c.uuid == uuid, async_job.c.job_dispatcher == ENGINE_DISPATCHER
    )
    found = await _read(conn, query)
    return found[0] if found else None


async def status_of(conn: AsyncConnection, job_id: int) -> int:
    query = select(async_job.c.job_status).where(async_job.c.id == job_id)
    return int((await conn.execute(query)).scalar_one())


async def all_instances(conn: AsyncConnection) -> list[InstanceRow]:
    """Every registered stackshift process, dead ones included (a crash leaves its row)."""
    # Named columns: this also reads a database whose instances table predates this release.
    c = instances.c
    query = select(
        c.msid, c.version, c.hostname, c.pid, c.started, c.heartbeat, c.draining
    ).order_by(c.started)
    return [
        InstanceRow(
            msid=int(r.msid),
            version=str(r.version),
            hostname=str(r.hostname),
            pid=int(r.pid),
            started=r.started,
            heartbeat=r.heartbeat,
            draining=bool(r.draining),
        )
        for r in await conn.execute(query)
    ]


async def completed_by(conn: AsyncConnection, msid: int, since: datetime) -> list[CompletedJob]:
    """Engine jobs this process finished at or after `since` (`removed` is the completion
    time, to the second, so callers remember which ids of the boundary second they saw)."""
    query = select(
        async_job.c.id,
        async_job.c.job_cmd,
        async_job.c.job_cmd_info,
        async_job.c.job_status,
        async_job.c.created,
        async_job.c.removed,
    ).where(
        async_job.c.removed >= since,
        async_job.c.job_complete_msid == msid,
        async_job.c.job_dispatcher == ENGINE_DISPATCHER,
    )
    return [
        CompletedJob(
            int(r.id),
            str(r.job_cmd),
            command_of(r.job_cmd, r.job_cmd_info),
            int(r.job_status),
            r.created,
            r.removed,
        )
        for r in await conn.execute(query)
    ]


async def host_names(conn: AsyncConnection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(host.c.id, host.c.name, host.c.private_ip_address).where(host.c.id.in_(ids))
    return {int(i): f"{name} ({ip})" for i, name, ip in await conn.execute(query)}


async def take_for_failing(
    conn: AsyncConnection, job_id: int, msid: int, live_msids: list[int]
) -> ClaimedJob | None:
    """Make `msid` the owner of a pending job nobody alive runs (compare-and-set): None when
    it finished, or a live process holds it, by the time the update ran."""
    owner = async_job.c.job_executing_msid
    taken = await conn.execute(
        update(async_job)
        .where(
            async_job.c.id == job_id,
            async_job.c.job_status == PENDING,
            async_job.c.job_dispatcher == ENGINE_DISPATCHER,
            or_(owner.is_(None), owner.not_in(live_msids)),
        )
        .values(job_executing_msid=msid)
    )
    if taken.rowcount != 1:
        return None
    row = (await conn.execute(select(async_job).where(async_job.c.id == job_id))).one()
    info = json.loads(row.job_cmd_info or "{}")
    return ClaimedJob(
        id=int(row.id),
        uuid=str(row.uuid),
        user_id=int(row.user_id),
        account_id=int(row.account_id),
        job_cmd=str(row.job_cmd),
        cmd_info=info if isinstance(info, dict) else {},
        instance_type=row.instance_type,
        instance_id=row.instance_id,
    )
