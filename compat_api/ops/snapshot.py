"""The operator's picture of production, built once and shown three ways: the /status page,
its JSON twin (/status.json), and `stackshift status`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from compat_api.facts import all_commands
from compat_api.ops.routing import RouteRow
from compat_api.ops.stuck import Context, JobView, StuckRules, assess, blockers
from compat_api.ops.traffic import TrafficRow
from engine.processes import all_processes
from schema_bridge import job_stats
from schema_bridge.db import Database


@dataclass(frozen=True)
class Check:
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class JobsSummary:
    pending: int
    oldest_pending_seconds: float
    stuck: int


@dataclass(frozen=True)
class Health:
    ready: bool
    draining: bool
    database: Check
    legacy: Check | None = None
    jobs: JobsSummary | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BacklogRow:
    command: str
    pending: int
    oldest_seconds: float


@dataclass(frozen=True)
class InstanceView:
    msid: int
    hostname: str
    pid: int
    version: str
    started: str
    heartbeat_age_seconds: float
    alive: bool
    draining: bool


@dataclass(frozen=True)
class JobPicture:
    backlog: list[BacklogRow]
    pending: int
    oldest_pending_seconds: float
    jobs: list[JobView]
    instances: list[InstanceView]

    @property
    def stuck(self) -> list[JobView]:
        return [j for j in self.jobs if j.stuck]

    def summary(self) -> JobsSummary:
        return JobsSummary(self.pending, self.oldest_pending_seconds, len(self.stuck))


@dataclass(frozen=True)
class Snapshot:
    generated_at: str
    source: str
    health: Health
    jobs: JobPicture | None
    routes: list[RouteRow]
    traffic: list[TrafficRow] | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def now_utc() -> datetime:
    """Naive UTC, as the legacy schema stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


@lru_cache(maxsize=1)
def _commands_by_class() -> dict[str, str]:
    return {cls: name for name, facts in all_commands().items() for cls in facts.source_classes}


def command_for_class(job_cmd: str) -> str:
    return _commands_by_class().get(job_cmd, job_cmd.rsplit(".", 1)[-1])


async def job_picture(db: Database, rules: StuckRules) -> JobPicture:
    """Backlog, every pending engine job judged stuck or not, and the registered processes."""
    now = now_utc()
    async with db.reader.connect() as conn:
        backlog = await job_stats.backlog(conn)
        pending = await job_stats.pending_jobs(conn)
        rows = await job_stats.all_instances(conn)
        host_ids = {int(j.state["host_id"]) for j in pending if j.state.get("host_id")}
        hosts = await job_stats.host_names(conn, host_ids)
    live = frozenset(
        r.msid for r in rows if (now - r.heartbeat).total_seconds() <= rules.dead_after_seconds
    )
    total = sum(b.pending for b in backlog)
    ctx = Context(now, live, rules, all_processes(), hosts, blockers(pending), total)
    by_command: dict[str, BacklogRow] = {}
    for b in backlog:
        name = command_for_class(b.job_cmd)
        age = max((now - b.oldest_created).total_seconds(), 0.0)
        old = by_command.get(name)
        if old is not None:
            age, count = max(age, old.oldest_seconds), b.pending + old.pending
        else:
            count = b.pending
        by_command[name] = BacklogRow(name, count, round(age, 1))
    return JobPicture(
        backlog=sorted(by_command.values(), key=lambda r: -r.pending),
        pending=total,
        oldest_pending_seconds=max((r.oldest_seconds for r in by_command.values()), default=0.0),
        jobs=[assess(job, ctx) for job in pending],
        instances=[_instance(r, now, live) for r in rows],
    )


def _instance(row: job_stats.InstanceRow, now: datetime, live: frozenset[int]) -> InstanceView:
    return InstanceView(
        msid=row.msid,
        hostname=row.hostname,
        pid=row.pid,
        version=row.version,
        started=row.started.strftime("%Y-%m-%d %H:%M:%S"),
        heartbeat_age_seconds=round(max((now - row.heartbeat).total_seconds(), 0.0), 1),
        alive=row.msid in live,
        draining=row.draining,
    )


def from_json(data: dict[str, Any]) -> Snapshot:
    """The snapshot a running server published at /status.json."""
    health = data["health"]
    jobs = data.get("jobs")
    traffic = data.get("traffic")
    return Snapshot(
        generated_at=str(data["generated_at"]),
        source=str(data["source"]),
        health=Health(
            ready=bool(health["ready"]),
            draining=bool(health["draining"]),
            database=Check(**health["database"]),
            legacy=Check(**health["legacy"]) if health.get("legacy") else None,
            jobs=JobsSummary(**health["jobs"]) if health.get("jobs") else None,
            problems=list(health.get("problems", [])),
        ),
        jobs=None
        if jobs is None
        else JobPicture(
            backlog=[BacklogRow(**r) for r in jobs["backlog"]],
            pending=int(jobs["pending"]),
            oldest_pending_seconds=float(jobs["oldest_pending_seconds"]),
            jobs=[JobView(**j) for j in jobs["jobs"]],
            instances=[InstanceView(**i) for i in jobs["instances"]],
        ),
        routes=[RouteRow(**r) for r in data.get("routes", [])],
        traffic=None if traffic is None else [TrafficRow(**t) for t in traffic],
    )
