"""Which pending jobs are stuck, why, and what an operator should do about each one.

A job is stuck when it has been pending longer than `pending_seconds`, has made no progress
(neither `async_job.last_updated` nor its progress row moved) for `idle_seconds`, or is held
by a process that stopped heartbeating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from engine.jobs.executor import FAILED_KEY
from engine.lifecycle import Process
from schema_bridge.job_stats import PendingJob


@dataclass(frozen=True)
class StuckRules:
    pending_seconds: float = 600.0
    idle_seconds: float = 300.0
    # As the job runners are configured (Settings.job_dead_after_seconds, heartbeat).
    dead_after_seconds: float = 15.0
    heartbeat_seconds: float = 2.0


@dataclass(frozen=True)
class JobView:
    """One pending job as an operator reads it."""

    uuid: str
    command: str
    resource: str
    step: str
    owner_msid: int | None
    owner_alive: bool | None
    age_seconds: float
    idle_seconds: float
    stuck: bool
    reasons: list[str] = field(default_factory=list)
    advice: str = ""


@dataclass(frozen=True)
class Context:
    """What judging a job needs beyond the job itself."""

    now: datetime
    live: frozenset[int]
    rules: StuckRules
    processes: Mapping[str, Process]
    hosts: Mapping[int, str]
    blocked_by: Mapping[int, str]  # job id -> uuid of an earlier pending job on its resource
    backlog: int


def duration_text(seconds: float) -> str:
    """45 s, 12 min, 3.5 h, 2.0 d: the unit a person would say."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def step_text(job: PendingJob, processes: Mapping[str, Process]) -> str:
    """The step the job is in (progress.step is the next step to run, counted from 1)."""
    by_name = {p.name: p for p in processes.values()}
    process = by_name.get(job.process or "")
    if job.step is None or process is None:
        return "not started"
    steps = process.steps
    if job.state.get(FAILED_KEY):
        return f"undoing after failure (step {job.step}/{len(steps)})"
    if job.step == 0:
        return "not started"
    if job.step > len(steps):
        return "finishing"
    return f"{steps[job.step - 1].name} ({job.step}/{len(steps)})"


def blockers(jobs: list[PendingJob]) -> dict[int, str]:
    """Jobs queued behind an earlier pending job on the same resource (the engine runs one
    job per resource at a time, in submission order)."""
    first: dict[tuple[str, int], str] = {}
    blocked: dict[int, str] = {}
    for job in sorted(jobs, key=lambda j: j.id):
        if job.instance_type is None or job.instance_id is None:
            continue
        key = (job.instance_type, job.instance_id)
        if key in first:
            blocked[job.id] = first[key]
        else:
            first[key] = job.uuid
    return blocked


def assess(job: PendingJob, ctx: Context) -> JobView:
    age = max((ctx.now - job.created).total_seconds(), 0.0)
    moments = [m for m in (job.created, job.last_updated, job.progress_updated) if m is not None]
    idle = max((ctx.now - max(moments)).total_seconds(), 0.0)
    alive = None if job.owner_msid is None else job.owner_msid in ctx.live
    reasons = []
    if alive is False:
        reasons.append(f"owner msid {job.owner_msid} is dead")
    if age > ctx.rules.pending_seconds:
        reasons.append(f"pending for {duration_text(age)}")
    if idle > ctx.rules.idle_seconds:
        reasons.append(f"no progress for {duration_text(idle)}")
    resource = f"{job.instance_type} {job.resource_uuid or job.instance_id}"
    view = JobView(
        uuid=job.uuid,
        command=job.command,
        resource=resource if job.instance_type else "-",
        step=step_text(job, ctx.processes),
        owner_msid=job.owner_msid,
        owner_alive=alive,
        age_seconds=round(age, 1),
        idle_seconds=round(idle, 1),
        stuck=bool(reasons),
        reasons=reasons,
    )
    return replace(view, advice=advice(job, view, ctx))


def advice(job: PendingJob, view: JobView, ctx: Context) -> str:
    """One line saying what happens next, or what to do."""
    fail = f"`stackshift jobs --fail {job.uuid} --reason ...` marks it failed and undoes it"
    if view.owner_alive is False:
        if ctx.live:
            within = ctx.rules.heartbeat_seconds
            return (
                f"owner is dead; a live instance resumes it from step '{view.step}' within "
                f"~{within:.0f} s. If it stays here, {fail}"
            )
        return (
            "owner is dead and no stackshift instance is running: start one to resume it, "
            f"or {fail}"
        )
    if view.owner_msid is None:
        return _unclaimed(job, view, ctx)
    if view.stuck:
        host_id = job.state.get("host_id")
        host = ctx.hosts.get(int(host_id)) if host_id is not None else None
        check = f"check host {host}" if host else "check the hypervisor and the database"
        return (
            f"stuck in step '{view.step}' for {duration_text(view.idle_seconds)} on live msid "
            f"{job.owner_msid}: {check}; stopping that instance hands the job back, then {fail}"
        )
    return "running"


def _unclaimed(job: PendingJob, view: JobView, ctx: Context) -> str:
    earlier = ctx.blocked_by.get(job.id)
    if earlier:
        return f"queued behind job {earlier} on the same resource; it runs when that one ends"
    if not ctx.live:
        return "no stackshift instance is running to claim it: start one (`stackshift serve`)"
    if view.stuck:
        return (
            f"not claimed for {duration_text(view.idle_seconds)} with {ctx.backlog} jobs "
            "pending: the engine's workers are saturated or failing; see `stackshift status`"
        )
    return "waiting for a worker"
