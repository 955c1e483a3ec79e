#!/usr/bin/env python3
"""A cutover of the vm subsystem under load: client errors and latency per step.

Seeds a cloud on MariaDB, starts a "legacy" stackshift process and a front one passing
through to it on the same database, drives the front with the real `cs` client (list,
deploy, stop, start, every job polled), and takes the drill's steps with the `stackshift`
CLI: mirror, reads, writes, rollback, writes, complete. Prints, for the time before the
first step and for each switch (from the CLI call until a second after it, when every
instance has the new routes) and the time after it, the requests made, the failed ones
and p50/p99 latency; then, per step, p99 before, during and after it. Target: 0 errors,
p99 during a switch within 2x of the p99 before that step.

Each figure pools --rounds runs of the drill (back to legacy in between): a switch lasts
two or three seconds, too few requests for one p99 to mean much.

Usage: python -m bench.cutover [--rounds 3] [--workers 4] [--dwell 8] [--min-samples 50]
       [--shadow-percent 100]
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import statistics
import sys
import time
from collections.abc import Sequence

from bench.cutover_load import (
    DRILL,
    SWITCHING,
    VM_READS,
    VM_WRITES,
    Call,
    Load,
    cli,
    deploy_args,
    needs_samples,
    start_pair,
    step_argv,
)
from bench.cutover_load import wait_samples as wait_for_samples
from bench.deploy import build
from compat_api.commands import build_registry
from schema_bridge.db import drop_database, open_database
from schema_bridge.seed import SeedResult

SERVER = "mysql://root@127.0.0.1:3306"
KEY = "bench-key"
SETTLE_SECONDS = 1.0
# The steps whose --percent samples the shadowed reads (for writes it is a canary).
SAMPLED = ("mirror", "reads")


def _p(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share) - 1]


def _row(name: str, calls: list[Call]) -> tuple[str, int, int, float, float, str]:
    times = sorted(c.seconds * 1000 for c in calls if c.error is None)
    errors = sum(c.error is not None for c in calls)
    return name, len(calls), errors, _p(times, 50), _p(times, 99), _engine_shares(calls)


def _engine_shares(calls: list[Call]) -> str:
    """Share of the vm reads and of the vm writes the engine answered."""
    shares = []
    for kind in (VM_READS, VM_WRITES):
        mine = [c for c in calls if c.command in kind and c.error is None]
        engine = sum(c.backend == "engine" for c in mine)
        shares.append(f"{100 * engine / len(mine):.0f}%" if mine else "-")
    return " / ".join(shares)


async def _steps(url: str, load: Load, args: argparse.Namespace, db_url: str) -> list[str]:
    """Take the drill's steps `args.rounds` times (back to legacy in between); returns the
    phases in order, each name ending in its round (" #2")."""
    db = await open_database(db_url)
    implemented = build_registry().names()
    limits = ["--min-samples", str(args.min_samples), "--max-diff-rate", str(args.max_diff_rate)]
    order = ["before #1"]
    try:
        await asyncio.sleep(args.dwell)  # warm-up: first connections, first deploys
        load.phase = order[0]
        await asyncio.sleep(args.dwell)
        for round_ in range(1, args.rounds + 1):
            if round_ > 1:
                await _take(load, order, f"0. reset to legacy #{round_}", _reset_argv(url), args)
            for number, (action, step) in enumerate(DRILL, 1):
                if needs_samples(action, step):
                    await wait_for_samples(db, "vm", args.min_samples, implemented)
                sampled = ["--percent", str(args.shadow_percent)] if step in SAMPLED else []
                argv = step_argv(url, action, step, [*limits, *sampled])
                name = f"{number}. {action} {step or 'back'} #{round_}"
                await _take(load, order, name, argv, args)
    finally:
        await db.dispose()
    return order


async def _take(
    load: Load, order: list[str], name: str, argv: list[str], args: argparse.Namespace
) -> None:
    """One step with the CLI: the switch phase, then the steady phase after it."""
    load.phase = f"{SWITCHING}: {name}"
    code, out = await cli(*argv)
    print(out.rstrip())
    if code != 0:
        raise SystemExit(f"step refused: {name}")
    await asyncio.sleep(SETTLE_SECONDS)
    load.phase = f"after: {name}"
    order += [f"{SWITCHING}: {name}", f"after: {name}"]
    await asyncio.sleep(args.dwell)


def _reset_argv(url: str) -> list[str]:
    return [
        "rollback", "vm", "--to", "legacy", "--db", url, "--who", "drill",
        "--reason", "bench: next round", "--wait", "30",
    ]  # fmt: skip


def _base(phase: str) -> str:
    return phase.rsplit(" #", 1)[0]


def _pooled(load: Load, phases: list[str]) -> list[Call]:
    wanted = set(phases)
    return [c for c in load.calls if c.phase in wanted]


def _report(load: Load, order: list[str], argv: list[str]) -> None:
    names = list(dict.fromkeys(_base(p) for p in order))
    rows = [_row(n, _pooled(load, [p for p in order if _base(p) == n])) for n in names]
    print(f"\n$ {' '.join(shlex.quote(a) for a in argv)}")
    print(
        f"{'phase (all rounds)':<28}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"  engine share of vm reads / writes"
    )
    for name, count, errors, p50, p99, shares in rows:
        print(f"{name:<28}{count:>9}{errors:>8}{p50:>9.1f}{p99:>9.1f}  {shares}")
    total = sum(r[2] for r in rows)
    worst = _per_step(load, order)
    first = rows[0][4]
    longest = max((r for r in rows if r[0].startswith(SWITCHING)), key=lambda r: r[4])
    print(
        f"client errors: {total}; worst switch p99 / p99 before that step: {worst:.2f}x "
        f"(target: 0 errors, <= 2x); worst switch p99 {longest[4]:.1f} ms ({longest[0]}) is "
        f"{longest[4] / first if first else 0.0:.2f}x the p99 before the first step"
    )
    for call in load.errors[:5]:
        print(f"  error: {call.error}")


def _per_step(load: Load, order: list[str]) -> float:
    """Each step's switches (pooled over the rounds) against the steady phases just before
    them, the load each switch started from; one line per step, returns the worst ratio."""
    print(
        f"\n{'step (all rounds)':<28}{'p99 before':>11}{'during':>9}{'after':>9}{'during/before':>15}"
    )
    steps: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for index, phase in enumerate(order):
        if phase.startswith(SWITCHING) and 0 < index < len(order) - 1:
            before, during, after = steps.setdefault(_base(phase), ([], [], []))
            before.append(order[index - 1])
            during.append(phase)
            after.append(order[index + 1])
    worst = 0.0
    for name, windows in steps.items():
        p99_before, p99_during, p99_after = (_row("", _pooled(load, w))[4] for w in windows)
        ratio = p99_during / p99_before if p99_before else 0.0
        worst = max(worst, ratio)
        step = name.removeprefix(f"{SWITCHING}: ")
        print(f"{step:<28}{p99_before:>11.1f}{p99_during:>9.1f}{p99_after:>9.1f}{ratio:>14.2f}x")
    return worst


async def _run(args: argparse.Namespace, argv: list[str]) -> None:
    url = f"{SERVER}/{args.database}"
    seed: SeedResult = await build(url, 0, args.hosts, 200)
    legacy, front = await asyncio.to_thread(start_pair, url, KEY)
    db = await open_database(url)
    try:
        workers = [(seed.admin, True), *[(seed.user, False)] * (args.workers - 1)]
        load = Load(front.endpoint, workers, await deploy_args(db, seed), phase="warm-up")
        load.start()
        try:
            order = await _steps(url, load, args, url)
        finally:
            await asyncio.to_thread(load.stop)
        _report(load, order, argv)
    finally:
        await db.dispose()
        await asyncio.to_thread(front.stop)
        await asyncio.to_thread(legacy.stop)
        if not args.keep:
            await drop_database(url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="client threads")
    parser.add_argument("--dwell", type=float, default=8.0, help="seconds at each step")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times the drill is taken (back to legacy in between); each figure pools them",
    )
    parser.add_argument("--min-samples", type=int, default=50)
    parser.add_argument("--max-diff-rate", type=float, default=0.01)
    parser.add_argument(
        "--shadow-percent",
        type=int,
        default=100,
        help="share of vm reads shadowed during mirror and reads (their --percent)",
    )
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--database", default="stackshift_bench_cutover")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    started = time.monotonic()
    asyncio.run(_run(args, ["python", "-m", "bench.cutover", *(argv or sys.argv[1:])]))
    print(f"ran in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
