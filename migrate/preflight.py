"""The checks a cutover step or rollback runs before it changes any route.

Each check gives one Finding; a failed one is printed as
`REFUSED <check>: what was found; what to do` and nothing is changed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api.routing import ENGINE, LEGACY
from migrate import cutover_steps as steps
from migrate.cutover_steps import Step
from migrate.routes import RouteSpec, StoredRoute
from migrate.shadow_window import WindowRate
from schema_bridge.db import Database
from schema_bridge.own_tables import instances
from schema_bridge.tables import async_job

# The async_job instance types whose jobs change a subsystem's resources.
INSTANCE_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "vm": ("VirtualMachine",),
    "volume": ("Volume", "Snapshot", "VmSnapshot"),
    "network": (
        "Network", "IpAddress", "FirewallRule", "PortForwardingRule", "LoadBalancerRule",
        "Vpc", "SecurityGroup",
    ),
    "template": ("Template", "Iso"),
    "account": ("Account", "User", "Domain", "Project"),
    "infra": (
        "Host", "StoragePool", "ImageStore", "Zone", "Pod", "Cluster", "SystemVm",
        "DomainRouter", "ConsoleProxy",
    ),
    "tag": ("None",),
}  # fmt: skip
POLL_SECONDS: Final = 0.1


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    found: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"PASS {self.check}: {self.found}"
        return f"REFUSED {self.check}: {self.found}; {self.fix}"


@dataclass(frozen=True)
class Thresholds:
    max_diff_rate: float = 0.01
    min_samples: int = 100


def order(current: Step, target: Step, force: bool, rollback: bool) -> Finding:
    """Forward one step at a time (or the same step again with a new percent)."""
    if rollback:
        if current == "legacy":
            return Finding(
                "order", False, "the subsystem is on legacy already", "there is nothing to undo"
            )
        return Finding("order", True, f"{current} -> {target}")
    gap = steps.position(target) - steps.position(current)
    if gap in (0, 1):
        return Finding("order", True, f"{current} -> {target}")
    if gap > 1 and force:
        return Finding("order", True, f"{current} -> {target}, skipping steps (--force)")
    if gap > 1:
        expected = steps.STEPS[steps.position(current) + 1]
        return Finding(
            "order",
            False,
            f"the subsystem is at {current}, so the next step is {expected}, not {target}",
            f"run `cutover ... {expected}` first, or add --force with a --reason",
        )
    return Finding(
        "order",
        False,
        f"the subsystem is at {current}; {target} is behind it",
        "going back is `stackshift rollback`",
    )


def engine_implements(
    subsystem: str,
    target: Step,
    planned: list[RouteSpec],
    overrides: list[StoredRoute],
    implemented: Collection[str],
) -> Finding:
    """Every command the step routes to the engine is one it implements."""
    sent = {s.scope.command for s in planned if s.backend == ENGINE and s.scope.command}
    sent |= {r.command for r in overrides if r.backend == ENGINE and r.command}
    missing = sorted(sent - set(implemented))
    if missing:
        return Finding(
            "engine",
            False,
            f"the engine does not implement {', '.join(missing)}, which would be routed to it",
            "route those commands to legacy (`stackshift route set legacy --command C`) "
            "or upgrade stackshift",
        )
    served = [n for n in steps.commands_of(subsystem) if n in implemented]
    reads = steps.engine_reads(subsystem, implemented)
    wanted = reads if target in ("mirror", "reads") else served
    if target != "legacy" and not wanted:
        kind = "read commands" if target in ("mirror", "reads") else "commands"
        return Finding(
            "engine",
            False,
            f"the engine implements none of {subsystem}'s {kind}",
            "this subsystem cannot move to the engine yet",
        )
    total = len(steps.commands_of(subsystem))
    return Finding(
        "engine",
        True,
        f"the engine implements {len(served)} of {total} {subsystem} commands "
        f"({len(reads)} reads); the rest stay on legacy",
    )


def shadow(vouching: Step, measured: WindowRate, limits: Thresholds) -> Finding:
    """The step's own shadow comparisons agree enough, over enough samples."""
    what = f"{measured.samples} shadow samples during {vouching}, difference rate "
    what += f"{measured.rate:.2%}"
    if measured.samples < limits.min_samples:
        return Finding(
            "shadow",
            False,
            f"only {what} (at least {limits.min_samples} needed)",
            f"let {vouching} run longer under traffic, or lower --min-samples",
        )
    if measured.rate >= limits.max_diff_rate:
        worst = f", most in {measured.worst}" if measured.worst else ""
        return Finding(
            "shadow",
            False,
            f"{what}{worst}, not under {limits.max_diff_rate:.2%}",
            "see `stackshift diffs` and fix the differences (or ignore volatile fields)",
        )
    return Finding("shadow", True, f"{what} (under {limits.max_diff_rate:.2%})")


async def _engine_msids(conn: AsyncConnection) -> set[int]:
    return {int(m) for m in (await conn.execute(select(instances.c.msid))).scalars()}


async def running_jobs(conn: AsyncConnection, subsystem: str, side: str) -> list[str]:
    """Uuids of the subsystem's jobs in progress on `side`: a job belongs to the engine when
    a stackshift instance runs (or started) it, to legacy otherwise."""
    types = INSTANCE_TYPES.get(subsystem, ())
    if not types:
        return []
    owner = func.coalesce(async_job.c.job_executing_msid, async_job.c.job_init_msid)
    query = select(async_job.c.uuid, owner).where(
        async_job.c.job_status == 0, async_job.c.instance_type.in_(types)
    )
    ours = await _engine_msids(conn)
    found = []
    for uuid, msid in (await conn.execute(query)).all():
        mine = msid is not None and int(msid) in ours
        if mine == (side == ENGINE):
            found.append(str(uuid))
    return sorted(found)


async def jobs(db: Database, subsystem: str, side: str | None, wait_seconds: float) -> Finding:
    """None of the subsystem's jobs is still running on the side losing the writes; waits up
    to `wait_seconds` for them to finish."""
    if side is None:
        return Finding("jobs", True, "no backend loses writes in this step")
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        async with db.engine.connect() as conn:
            running = await running_jobs(conn, subsystem, side)
        if not running:
            return Finding("jobs", True, f"no {subsystem} job is running on {side_name(side)}")
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    shown = ", ".join(running[:3]) + (f" and {len(running) - 3} more" if len(running) > 3 else "")
    waited = f" after waiting {wait_seconds:g}s" if wait_seconds > 0 else ""
    return Finding(
        "jobs",
        False,
        f"{len(running)} {subsystem} job(s) still running on {side_name(side)}{waited} ({shown})",
        "wait for them (--wait SECONDS) or fail them (`stackshift jobs --fail`) first",
    )


def side_name(side: str | None) -> str:
    return {LEGACY: "legacy", ENGINE: "the engine"}.get(side or "", "neither")
