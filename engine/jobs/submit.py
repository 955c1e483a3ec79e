"""Submitting an engine job: the async_job row, its Scheduled event and first progress record,
written in the caller's transaction so a create command's rows and its job commit together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.lifecycle import Process
from schema_bridge import job_queue, jobs
from schema_bridge.dialect import utc_now
from schema_bridge.events import NewEvent, record
from schema_bridge.ids import new_uuid
from schema_bridge.job_queue import Progress


@dataclass(frozen=True)
class JobRequest:
    process: Process
    java_class: str
    user_id: int
    account_id: int
    domain_id: int
    resource_id: int
    resource_uuid: str
    http_method: str
    # The request's raw parameters (stored as CloudStack stores them) and the typed
    # arguments the steps read.
    params: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmittedJob:
    id: int
    uuid: str


async def submit(conn: AsyncConnection, msid: int, request: JobRequest) -> SubmittedJob:
    process = request.process
    now = utc_now()
    scheduled = await record(
        conn,
        NewEvent(
            type=process.event_type,
            description=f"scheduled {process.name} of {request.resource_uuid}",
            user_id=request.user_id,
            account_id=request.account_id,
            domain_id=request.domain_id,
            created=now,
            resource_id=request.resource_id,
            resource_type=process.resource_type,
            state="Scheduled",
        ),
    )
    info = jobs.cmd_info(
        request.params,
        user_id=request.user_id,
        account_id=request.account_id,
        entity_uuid=request.resource_uuid,
        http_method=request.http_method,
        event_type=process.event_type,
        start_event_id=scheduled,
    )
    uuid = new_uuid()
    job = jobs.NewJob(
        uuid=uuid,
        user_id=request.user_id,
        account_id=request.account_id,
        cmd=request.java_class,
        cmd_info=info,
        msid=msid,
        instance_type=process.resource_type,
        instance_id=request.resource_id,
        created=now,
    )
    state = {"args": dict(request.args), "domain_id": request.domain_id}
    job_id = await job_queue.insert_engine_job(conn, job, Progress(process.name, 0, state))
    return SubmittedJob(job_id, uuid)
