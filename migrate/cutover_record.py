"""Cutover and rollback records, kept in the route history beside the route changes.

Each step adds one `cutover` or `rollback` row to stackshift_route_history (in the same
transaction as its route rows' own set/clear rows): who, when, why, the step before and
after, the subsystem's route rows before and after, the shadow counters when the step
began (what the next step's preflight measures from) and the preflight results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from migrate import shadow_window
from migrate.cutover_steps import Step, as_step
from migrate.routes import StoredRoute
from migrate.shadow_window import Snapshot
from schema_bridge.own_tables import route_history

CUTOVER: Final = "cutover"
ROLLBACK: Final = "rollback"
ACTIONS: Final = (CUTOVER, ROLLBACK)
RouteRow = dict[str, Any]
# MariaDB's TEXT holds 65,535 bytes; the record's other parts are small.
TEXT_CHARS: Final = 60_000


@dataclass(frozen=True)
class StepRecord:
    subsystem: str
    action: str
    from_step: Step
    step: Step
    percent: int
    who: str
    reason: str
    forced: bool = False
    routes_before: list[RouteRow] = field(default_factory=list)
    routes_after: list[RouteRow] = field(default_factory=list)
    baseline: Snapshot = field(default_factory=dict)
    preflight: list[str] = field(default_factory=list)
    id: int = 0
    at: datetime | None = None


def route_row(route: StoredRoute) -> RouteRow:
    """What a route decides, without when and by whom it was last written."""
    return {
        "subsystem": route.subsystem,
        "command": route.command,
        "account": route.account,
        "domain": route.domain,
        "backend": route.backend,
        "percent": route.percent,
        "shadow": bool(route.shadow),
        "shadow_percent": route.shadow_percent,
        "ignore_fields": route.ignore_fields,
    }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


async def add(conn: AsyncConnection, record: StepRecord) -> None:
    before = {"step": record.from_step, "routes": record.routes_before}
    after = {
        "step": record.step,
        "percent": record.percent,
        "forced": record.forced,
        "routes": record.routes_after,
        "shadow": shadow_window.encode(record.baseline),
        "preflight": record.preflight,
    }
    if len(json.dumps(after)) > TEXT_CHARS:
        # Too many fields for the history's TEXT column: keep the whole-answer counters and
        # the fields that ever differed (the others then count from zero, which can only
        # understate their rate, and they have never differed).
        after["shadow"] = shadow_window.encode(shadow_window.compact(record.baseline))
    await conn.execute(
        route_history.insert().values(
            at=_now(),
            who=record.who[:100],
            reason=record.reason[:1000],
            action=record.action,
            subsystem=record.subsystem,
            command="",
            account="",
            domain="",
            before=json.dumps(before, sort_keys=True),
            after=json.dumps(after, sort_keys=True),
        )
    )


def _record(row: Any) -> StepRecord:
    before = json.loads(row.before or "{}")
    after = json.loads(row.after or "{}")
    return StepRecord(
        subsystem=str(row.subsystem),
        action=str(row.action),
        from_step=as_step(before.get("step", "legacy")),
        step=as_step(after.get("step", "legacy")),
        percent=int(after.get("percent", 100)),
        who=str(row.who),
        reason=str(row.reason),
        forced=bool(after.get("forced", False)),
        routes_before=list(before.get("routes", [])),
        routes_after=list(after.get("routes", [])),
        baseline=shadow_window.decode(dict(after.get("shadow", {}))),
        preflight=list(after.get("preflight", [])),
        id=int(row.id),
        at=row.at,
    )


async def records(
    conn: AsyncConnection, subsystem: str | None = None, limit: int = 100
) -> list[StepRecord]:
    """Cutover and rollback records, newest first."""
    query = (
        select(route_history)
        .where(route_history.c.action.in_(ACTIONS))
        .order_by(route_history.c.id.desc())
        .limit(limit)
    )
    if subsystem is not None:
        query = query.where(route_history.c.subsystem == subsystem)
    return [_record(row) for row in (await conn.execute(query)).all()]


async def latest(conn: AsyncConnection, subsystem: str) -> StepRecord | None:
    found = await records(conn, subsystem, limit=1)
    return found[0] if found else None


async def latest_of_step(conn: AsyncConnection, subsystem: str, step: Step) -> StepRecord | None:
    """The newest record that brought the subsystem to `step` (for a rollback's percent)."""
    for record in await records(conn, subsystem, limit=200):
        if record.step == step:
            return record
    return None
