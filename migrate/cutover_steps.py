"""The steps of a subsystem's cutover and the route rows each one stands for.

A cutover moves one subsystem from the legacy management server to the engine the way
Vitess MoveTables moves tables: mirror, verify, switch reads, switch writes, complete, and
back again at any point. A step is nothing but a set of subsystem-wide route rows (no
account or domain); operators' account and domain overrides are left as they are.

- legacy:   no rows; the default (legacy) serves everything.
- mirror:   legacy serves the subsystem; its read commands are shadowed to the engine,
            sampled by the percent.
- reads:    the engine serves the read commands it implements, legacy shadows them
            (sampled by the percent); writes stay on legacy.
- writes:   the engine serves every command of the subsystem it implements; the percent
            is a sticky per-account canary (accounts outside keep writing through legacy,
            reads stay on the engine for everyone).
- complete: the engine is the subsystem's default, shadowing off.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final, Literal

from compat_api.facts import all_commands
from compat_api.routing import ENGINE, LEGACY, is_read_only, subsystem_for
from migrate.routes import RouteSpec, Scope

Step = Literal["legacy", "mirror", "reads", "writes", "complete"]
STEPS: Final[tuple[Step, ...]] = ("legacy", "mirror", "reads", "writes", "complete")
# Steps an operator can ask for with `stackshift cutover` (legacy is reached by rollback).
FORWARD: Final[tuple[Step, ...]] = STEPS[1:]


def as_step(name: str) -> Step:
    for step in STEPS:
        if step == name:
            return step
    raise ValueError(f"unknown step {name} (one of {', '.join(STEPS)})")


def position(step: Step) -> int:
    return STEPS.index(step)


def previous(step: Step) -> Step:
    return STEPS[max(position(step) - 1, 0)]


def commands_of(subsystem: str) -> list[str]:
    """Every CloudStack command of the subsystem, sorted."""
    return sorted(name for name in all_commands() if subsystem_for(name) == subsystem)


def read_commands(subsystem: str) -> list[str]:
    return [name for name in commands_of(subsystem) if is_read_only(name)]


def engine_reads(subsystem: str, implemented: Collection[str]) -> list[str]:
    """The subsystem's read commands the engine can serve (and so be compared on)."""
    return [name for name in read_commands(subsystem) if name in implemented]


def plan(subsystem: str, step: Step, percent: int, implemented: Collection[str]) -> list[RouteSpec]:
    """The subsystem-wide route rows that make up `step`, in a stable order."""
    whole = Scope(subsystem)
    if step == "legacy":
        return []
    if step == "mirror":
        return [RouteSpec(whole, LEGACY, shadow=True, shadow_percent=percent)]
    if step == "complete":
        return [RouteSpec(whole, ENGINE)]
    reads_percent = percent if step == "reads" else 100
    reads = [
        RouteSpec(Scope(subsystem, name), ENGINE, shadow=True, shadow_percent=reads_percent)
        for name in engine_reads(subsystem, implemented)
    ]
    if step == "reads":
        return [RouteSpec(whole, LEGACY), *reads]
    return [RouteSpec(whole, ENGINE, percent=percent), *reads]


def engine_write_share(step: Step, percent: int) -> int:
    """Which share (percent of accounts) of the subsystem's writes the engine makes."""
    if step == "writes":
        return percent
    return 100 if step == "complete" else 0


def losing_writes(before: tuple[Step, int], after: tuple[Step, int]) -> str | None:
    """The backend that stops making some of the subsystem's writes, if any."""
    was, now = engine_write_share(*before), engine_write_share(*after)
    if now > was:
        return LEGACY
    if now < was:
        return ENGINE
    return None


def needs_samples(step: Step) -> Step | None:
    """The step whose shadow comparisons must vouch for moving to `step`: a switch of reads
    needs what mirroring measured, a switch of writes (and completing) what the engine
    serving reads measured."""
    return _VOUCHED_BY.get(step)


_VOUCHED_BY: Final[dict[Step, Step]] = {"reads": "mirror", "writes": "reads", "complete": "writes"}
