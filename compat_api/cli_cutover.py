"""`stackshift cutover SUBSYSTEM STEP`, `stackshift cutover status` and `stackshift rollback`.

Every run prints its preflight results (one line each, REFUSED lines say what to do) and the
subsystem's routes before and after; a refusal or a dry run changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from compat_api.commands import build_registry
from migrate import cutover
from migrate import cutover_steps as steps
from migrate.cutover_record import RouteRow
from migrate.preflight import Thresholds
from migrate.routes import RouteRefusedError
from schema_bridge.db import open_database

EXIT_REFUSED = 1
EXIT_USAGE = 2


def _who(args: argparse.Namespace) -> str:
    if args.who:
        return str(args.who)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _route(row: RouteRow) -> str:
    what = row["backend"] + (f" {row['percent']}% of accounts" if row["percent"] < 100 else "")
    if row["shadow"]:
        what += f", shadowed {row['shadow_percent']}%"
    return f"    {row['subsystem']} {row['command'] or '*'}: {what}"


def _report(outcome: cutover.Outcome, dry_run: bool) -> list[str]:
    lines = [
        f"{outcome.subsystem}: {outcome.current} -> {outcome.target} ({outcome.percent}%)",
        *(f"  {finding.line()}" for finding in outcome.findings),
        "  routes before:",
        *([_route(r) for r in outcome.before] or ["    (none: legacy serves everything)"]),
        "  routes after:",
        *([_route(r) for r in outcome.after] or ["    (none: legacy serves everything)"]),
    ]
    if outcome.refused:
        lines.append("refused: nothing changed")
    elif dry_run:
        lines.append("dry run: nothing changed")
    else:
        lines.append(f"done: {outcome.subsystem} is at {outcome.target}")
    return lines


def _request(args: argparse.Namespace, rollback: bool) -> cutover.Request:
    # A rollback names no step: back one, or to legacy with --to legacy.
    step = ("legacy" if args.to == "legacy" else None) if rollback else steps.as_step(args.step)
    return cutover.Request(
        subsystem=args.subsystem,
        step=step,
        reason=args.reason or "",
        who=_who(args),
        percent=getattr(args, "percent", None),
        rollback=rollback,
        dry_run=args.dry_run,
        force=getattr(args, "force", False),
        wait_seconds=args.wait,
        limits=Thresholds(getattr(args, "max_diff_rate", 0.01), getattr(args, "min_samples", 100)),
    )


async def _move(args: argparse.Namespace, rollback: bool) -> tuple[int, list[str]]:
    db = await open_database(args.db)
    try:
        outcome = await cutover.run(db, _request(args, rollback), build_registry().names())
    finally:
        await db.dispose()
    return (EXIT_REFUSED if outcome.refused else 0), _report(outcome, args.dry_run)


async def _status(url: str) -> list[str]:
    db = await open_database(url)
    try:
        standings = await cutover.status(db, build_registry().names())
    finally:
        await db.dispose()
    lines = ["Cutover status (subsystems never cut over and without routes are on legacy)"]
    for s in standings:
        at = s.position
        share = f" {at.percent}%" if at.step in ("mirror", "reads", "writes") else ""
        since = ""
        if at.record is not None and at.record.at is not None:
            since = f" since {at.record.at:%Y-%m-%d %H:%M:%S} by {at.record.who}"
            since += f" ({at.record.action}: {at.record.reason})"
        shadow = f"shadow {s.shadow.samples} samples this step, {s.shadow.rate:.2%} different"
        drift = "  ROUTES CHANGED BY HAND since this step" if s.drifted else ""
        extra = f"; {s.overrides} account/domain route(s) apply first" if s.overrides else ""
        lines.append(f"  {s.subsystem:<10} {at.step}{share}{since}; {shadow}{extra}{drift}")
    if len(lines) == 1:
        lines.append("  (none)")
    return lines


def _run(args: argparse.Namespace, rollback: bool) -> int:
    try:
        if not rollback and args.subsystem == "status":
            code, lines = 0, asyncio.run(_status(args.db))
        else:
            if not rollback and not args.step:
                raise cutover.CutoverRefusedError(
                    "REFUSED request: no step given; name one of " + ", ".join(steps.FORWARD)
                )
            code, lines = asyncio.run(_move(args, rollback))
    except (cutover.CutoverRefusedError, RouteRefusedError) as refused:
        print(f"stackshift: {refused}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(lines))
    return code


def cmd_cutover(args: argparse.Namespace) -> int:
    """Move a subsystem one step towards the engine (mirror, reads, writes, complete), after
    its preflight checks; or show where every subsystem stands (`cutover status`)."""
    return _run(args, rollback=False)


def cmd_rollback(args: argparse.Namespace) -> int:
    """Move a subsystem back one step (or straight to legacy with --to legacy)."""
    return _run(args, rollback=True)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    parser.add_argument("--reason", help="why (required for a change; kept in the history)")
    parser.add_argument("--who", help="who makes the change (default: the OS user)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the checks and route changes only"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="seconds to wait for jobs still running on the side losing the writes",
    )


def add_commands(sub: Any) -> None:
    """Register `cutover` and `rollback` on the `stackshift` sub-command parser."""
    move = sub.add_parser("cutover", help=cmd_cutover.__doc__, description=cmd_cutover.__doc__)
    move.add_argument("subsystem", help="vm, volume, network, ... or `status`")
    move.add_argument("step", nargs="?", choices=steps.FORWARD, help="the step to take")
    move.add_argument(
        "--percent",
        type=int,
        help="mirror/reads: share of read calls shadowed; writes: sticky share of accounts",
    )
    move.add_argument("--force", action="store_true", help="skip steps (needs a --reason)")
    move.add_argument(
        "--max-diff-rate",
        type=float,
        default=Thresholds.max_diff_rate,
        help="highest shadow difference rate a switch accepts (0.01 = 1%%)",
    )
    move.add_argument(
        "--min-samples",
        type=int,
        default=Thresholds.min_samples,
        help="shadow comparisons the previous step must have made",
    )
    _common(move)
    move.set_defaults(func=cmd_cutover)
    back = sub.add_parser("rollback", help=cmd_rollback.__doc__, description=cmd_rollback.__doc__)
    back.add_argument("subsystem", help="vm, volume, network, ...")
    back.add_argument("--to", choices=["legacy"], help="straight back to legacy")
    _common(back)
    back.set_defaults(func=cmd_rollback)
