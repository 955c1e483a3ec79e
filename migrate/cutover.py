"""`stackshift cutover` and `stackshift rollback`: move a subsystem one step, checked first.

A step (see migrate/cutover_steps.py) is a set of subsystem-wide route rows. Preflights
run first (migrate/preflight.py); when all pass, the rows are written through the route
store and the step's record is added, in one transaction, so every running instance sees
the whole step at once (within a second) or nothing of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field, replace

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api.routing import join_fields
from compat_api.subsystems import SUBSYSTEMS
from migrate import cutover_record as record
from migrate import cutover_steps as steps
from migrate import preflight, shadow_window
from migrate import routes as store
from migrate.cutover_record import RouteRow, StepRecord
from migrate.cutover_steps import Step
from migrate.preflight import Finding, Thresholds
from schema_bridge.db import Database
from schema_bridge.own_tables import routes


class CutoverRefusedError(ValueError):
    """The request itself is wrong (unknown subsystem, no reason, ...): one line."""


@dataclass(frozen=True)
class Request:
    """A step to take; for a rollback, `step` None means the step before the current one."""

    subsystem: str
    step: Step | None
    reason: str
    who: str
    percent: int | None = None
    rollback: bool = False
    dry_run: bool = False
    force: bool = False
    wait_seconds: float = 0.0
    limits: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class Outcome:
    subsystem: str
    current: Step
    target: Step
    percent: int
    findings: list[Finding]
    before: list[RouteRow]
    after: list[RouteRow]
    applied: bool

    @property
    def refused(self) -> bool:
        return any(not f.ok for f in self.findings)


@dataclass(frozen=True)
class Position:
    """Where a subsystem stands: its step, the step's percent and the record behind it."""

    step: Step
    percent: int
    record: StepRecord | None


def _check_request(request: Request) -> None:
    if request.subsystem not in SUBSYSTEMS:
        raise CutoverRefusedError(
            f"REFUSED request: unknown subsystem {request.subsystem}; "
            f"name one of {', '.join(SUBSYSTEMS)}"
        )
    if not request.reason.strip():
        raise CutoverRefusedError(
            "REFUSED request: no reason given; add --reason TEXT (it is kept in the history)"
        )
    if request.percent is not None and request.step in ("complete", "legacy"):
        raise CutoverRefusedError(
            f"REFUSED request: --percent means nothing for {request.step}; leave it out "
            "(it samples mirror and reads, and is the canary of writes)"
        )
    if request.percent is not None and not 1 <= request.percent <= 100:
        raise CutoverRefusedError(
            f"REFUSED request: --percent {request.percent}; give a share between 1 and 100"
        )


async def position(conn: AsyncConnection, subsystem: str) -> Position:
    latest = await record.latest(conn, subsystem)
    if latest is None:
        return Position("legacy", 100, None)
    return Position(latest.step, latest.percent, latest)


def _global(rows: list[store.StoredRoute], subsystem: str) -> list[store.StoredRoute]:
    return [r for r in rows if r.subsystem == subsystem and not r.account and not r.domain]


def _overrides(rows: list[store.StoredRoute], subsystem: str) -> list[store.StoredRoute]:
    return [r for r in rows if r.subsystem == subsystem and (r.account or r.domain)]


def _planned_rows(specs: list[store.RouteSpec]) -> list[RouteRow]:
    return [
        {
            "subsystem": s.scope.subsystem,
            "command": s.scope.command,
            "account": "",
            "domain": "",
            "backend": s.backend,
            "percent": s.percent,
            "shadow": s.shadow,
            "shadow_percent": s.shadow_percent,
            "ignore_fields": join_fields(s.ignore_fields),
        }
        for s in specs
    ]


async def _target_of(db: Database, request: Request, at: Position) -> tuple[Step, int]:
    """The step to reach and its percent: a rollback returns to the percent that step last
    had; a step asked again without --percent keeps the current one."""
    target = request.step or at.step
    if not request.rollback:
        keep = at.percent if target == at.step else 100
        return target, request.percent if request.percent is not None else keep
    async with db.engine.connect() as conn:
        earlier = await record.latest_of_step(conn, request.subsystem, target)
    return target, earlier.percent if earlier is not None else 100


async def _findings(
    db: Database,
    request: Request,
    at: Position,
    target: tuple[Step, int],
    specs: list[store.RouteSpec],
    overrides: list[store.StoredRoute],
    implemented: Collection[str],
) -> list[Finding]:
    found = [preflight.order(at.step, target[0], request.force, request.rollback)]
    found.append(
        preflight.engine_implements(request.subsystem, target[0], specs, overrides, implemented)
    )
    found.append(await _shadow_finding(db, request, at, target[0], implemented))
    side = steps.losing_writes((at.step, at.percent), target)
    wait = 0.0 if request.dry_run else request.wait_seconds
    found.append(await preflight.jobs(db, request.subsystem, side, wait))
    return found


async def _shadow_finding(
    db: Database, request: Request, at: Position, target: Step, implemented: Collection[str]
) -> Finding:
    vouching = steps.needs_samples(target)
    if request.rollback or vouching is None or target == at.step:
        return Finding("shadow", True, "not needed for this change")
    if at.step != vouching:
        return Finding("shadow", True, f"skipped: {vouching} was skipped (--force)")
    reads = steps.engine_reads(request.subsystem, implemented)
    now = await shadow_window.snapshot(db, reads)
    base = at.record.baseline if at.record is not None else {}
    measured = shadow_window.rate_of(shadow_window.window(now, base))
    return preflight.shadow(vouching, measured, request.limits)


async def run(db: Database, request: Request, implemented: Collection[str]) -> Outcome:
    """Check, then (unless refused or a dry run) apply one step or rollback."""
    _check_request(request)
    async with db.engine.connect() as conn:
        at = await position(conn, request.subsystem)
    if request.rollback and request.step is None:
        request = _rollback_to(request, at)
    target = await _target_of(db, request, at)
    rows = await store.list_routes(db)
    before = [record.route_row(r) for r in _global(rows, request.subsystem)]
    specs = steps.plan(request.subsystem, target[0], target[1], implemented)
    overrides = _overrides(rows, request.subsystem)
    findings = await _findings(db, request, at, target, specs, overrides, implemented)
    outcome = Outcome(
        request.subsystem, at.step, target[0], target[1], findings, before,
        _planned_rows(specs), applied=False,
    )  # fmt: skip
    if outcome.refused or request.dry_run:
        return outcome
    await _apply(db, request, at, target, specs, outcome, implemented)
    return replace(outcome, applied=True)


def _rollback_to(request: Request, at: Position) -> Request:
    return replace(request, step=steps.previous(at.step))


async def _apply(
    db: Database,
    request: Request,
    at: Position,
    target: tuple[Step, int],
    specs: list[store.RouteSpec],
    outcome: Outcome,
    implemented: Collection[str],
) -> None:
    action = record.ROLLBACK if request.rollback else record.CUTOVER
    why = f"{action} {request.subsystem} {at.step} -> {target[0]}: {request.reason}"
    baseline = await shadow_window.snapshot(db, steps.engine_reads(request.subsystem, implemented))
    async with db.engine.connect() as conn, _one_operator(conn, request.subsystem):
        await _write_step(conn, request, at, target, specs, outcome, implemented, why, baseline)


# How long a second operator's cutover of the same subsystem waits for the first.
LOCK_WAIT_SECONDS = 10


@contextlib.asynccontextmanager
async def _one_operator(conn: AsyncConnection, subsystem: str) -> AsyncIterator[None]:
    """On MariaDB, one cutover of a subsystem at a time across every host: a named lock held
    until the step has committed, so a second operator's check reads the first one's rows.
    SQLite (the single-host demo) serialises writers by itself."""
    if conn.dialect.name == "sqlite":
        yield
        return
    # Named locks are server-wide: the database's name keeps two clouds on one server apart.
    database = (await conn.execute(text("SELECT DATABASE()"))).scalar()
    name = f"stackshift_cutover:{database}:{subsystem}"
    got = (
        await conn.execute(
            text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": LOCK_WAIT_SECONDS}
        )
    ).scalar()
    await conn.commit()  # GET_LOCK is not transactional; the step starts a fresh snapshot
    if got != 1:
        raise CutoverRefusedError(
            f"REFUSED order: another cutover of {subsystem} is in progress; try again"
        )
    try:
        yield
    finally:
        await conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
        await conn.commit()


async def _write_step(
    conn: AsyncConnection,
    request: Request,
    at: Position,
    target: tuple[Step, int],
    specs: list[store.RouteSpec],
    outcome: Outcome,
    implemented: Collection[str],
    why: str,
    baseline: shadow_window.Snapshot,
) -> None:
    action = record.ROLLBACK if request.rollback else record.CUTOVER
    async with conn.begin():
        if (await position(conn, request.subsystem)).record != at.record:
            raise CutoverRefusedError(
                f"REFUSED order: another cutover of {request.subsystem} happened meanwhile; "
                "run `stackshift cutover status` and try again"
            )
        wanted = {s.scope for s in specs}
        for route in _global(await _routes_in(conn), request.subsystem):
            scope = store.Scope(route.subsystem, route.command)
            if scope not in wanted:
                await store.clear_in(conn, scope, request.who, why)
        for spec in specs:
            await store.set_in(conn, spec, implemented, request.who, why)
        await record.add(
            conn,
            StepRecord(
                subsystem=request.subsystem,
                action=action,
                from_step=at.step,
                step=target[0],
                percent=target[1],
                who=request.who,
                reason=request.reason,
                forced=request.force,
                routes_before=outcome.before,
                routes_after=outcome.after,
                baseline=baseline,
                preflight=[f.line() for f in outcome.findings],
            ),
        )


async def _routes_in(conn: AsyncConnection) -> list[store.StoredRoute]:
    return [store.StoredRoute(*row) for row in (await conn.execute(select(routes))).all()]


@dataclass(frozen=True)
class Standing:
    """One line of `stackshift cutover status`."""

    subsystem: str
    position: Position
    shadow: shadow_window.WindowRate
    # The subsystem-wide routes no longer are what the last step wrote (changed by hand).
    drifted: bool
    # Account and domain routes of the subsystem, which steps leave alone.
    overrides: int = 0


async def status(db: Database, implemented: Collection[str]) -> list[Standing]:
    """Every subsystem that has been cut over or has subsystem-wide routes."""
    rows = await store.list_routes(db)
    found = []
    for subsystem in SUBSYSTEMS:
        async with db.engine.connect() as conn:
            at = await position(conn, subsystem)
        current = [record.route_row(r) for r in _global(rows, subsystem)]
        if at.record is None and not current and not _overrides(rows, subsystem):
            continue
        reads = steps.engine_reads(subsystem, implemented)
        now = await shadow_window.snapshot(db, reads)
        base = at.record.baseline if at.record is not None else {}
        written = at.record.routes_after if at.record is not None else []
        found.append(
            Standing(
                subsystem,
                at,
                shadow_window.rate_of(shadow_window.window(now, base)),
                _key(current) != _key(written),
                len(_overrides(rows, subsystem)),
            )
        )
    return found


def _key(rows: list[RouteRow]) -> list[tuple[object, ...]]:
    return sorted(tuple(sorted(row.items())) for row in rows)
