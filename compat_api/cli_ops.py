"""`stackshift status` and `stackshift jobs`: how production is doing, from a running server
or straight from the database. Each sub-command is a plain function; its docstring is its help.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from compat_api.commands import build_registry
from compat_api.ops import health, screen, traffic
from compat_api.ops.fail_job import fail_job
from compat_api.ops.routing import route_table
from compat_api.ops.snapshot import Snapshot, from_json, job_picture, now_utc
from compat_api.ops.stuck import StuckRules
from compat_api.settings import DEFAULT_PORT, Settings
from schema_bridge.db import open_database

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
HTTP_TIMEOUT = 10.0


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - operator's URL
        body: bytes = response.read()
        return body


def snapshot_from_url(url: str, window: float) -> Snapshot:
    """The server's /status.json, with traffic from two /metrics scrapes `window` apart."""
    base = url.rstrip("/")
    snapshot = from_json(json.loads(_get(f"{base}/status.json")))
    before = traffic.parse(_get(f"{base}/metrics").decode())
    if window > 0:
        time.sleep(window)
        after = traffic.parse(_get(f"{base}/metrics").decode())
        rows = traffic.rows(after, before, window)
    else:
        rows = traffic.rows(before)
    return dataclasses.replace(snapshot, traffic=rows)


async def snapshot_from_db(db_url: str, rules: StuckRules) -> Snapshot:
    db = await open_database(db_url)
    try:
        verdict, picture = await health.assess(db, False, None, rules)
        target = health.database_target(db)
    finally:
        await db.dispose()
    return Snapshot(
        generated_at=now_utc().strftime("%Y-%m-%d %H:%M:%S"),
        source=f"the database ({target})",
        health=verdict,
        jobs=picture,
        routes=route_table(build_registry()),
        traffic=None,
    )


def _rules(args: argparse.Namespace) -> StuckRules:
    defaults = Settings(db_url="")
    return StuckRules(
        pending_seconds=args.pending_minutes * 60,
        idle_seconds=args.idle_minutes * 60,
        dead_after_seconds=args.dead_after,
        heartbeat_seconds=defaults.job_heartbeat_seconds,
    )


def cmd_status(args: argparse.Namespace) -> int:
    """One screen: health, traffic and errors per command and backend, slowest commands, job
    backlog, stuck jobs, live instances and routes. Exit status 1 when not ready."""
    try:
        if args.db:
            snapshot = asyncio.run(snapshot_from_db(args.db, _rules(args)))
        else:
            snapshot = snapshot_from_url(args.url, args.window)
    except (urllib.error.URLError, OSError, ValueError) as error:
        where = "the database" if args.db else args.url
        print(f"stackshift: cannot read the status from {where}: {error}", file=sys.stderr)
        return 2
    print(screen.render(snapshot))
    return 0 if snapshot.health.ready else 1


async def _jobs(args: argparse.Namespace) -> str:
    db = await open_database(args.db)
    try:
        if args.fail:
            settings = Settings(db_url=args.db, job_dead_after_seconds=args.dead_after)
            outcome = await fail_job(db, args.fail, args.reason, settings)
            return ("" if outcome.done else "refused: ") + outcome.message
        picture = await job_picture(db, _rules(args))
    finally:
        await db.dispose()
    shown = picture.stuck if args.stuck else picture.jobs
    title = "Stuck jobs" if args.stuck else "Pending jobs"
    return "\n".join(
        [f"{title}: {len(shown)} (of {picture.pending} pending)", *screen.job_rows(shown)]
    )


def cmd_jobs(args: argparse.Namespace) -> int:
    """Pending engine jobs (or only --stuck ones): command, resource, step, owner, age and
    what to do. --fail UUID --reason TEXT ends a job that no live instance runs as failed,
    undoing the steps it had done."""
    if args.fail and not args.reason:
        print("stackshift: --fail needs --reason (it is shown to the job's owner)", file=sys.stderr)
        return 2
    text = asyncio.run(_jobs(args))
    print(text)
    return 1 if text.startswith("refused: ") else 0


def _thresholds(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pending-minutes", type=float, default=10.0, help="stuck when pending longer (10)"
    )
    parser.add_argument(
        "--idle-minutes", type=float, default=5.0, help="stuck when no progress for longer (5)"
    )
    parser.add_argument(
        "--dead-after",
        type=float,
        default=Settings(db_url="").job_dead_after_seconds,
        help="seconds without heartbeat before an instance counts as dead",
    )


def add_commands(sub: Any) -> None:
    """Register `status` and `jobs` on the `stackshift` sub-command parser."""
    status = sub.add_parser("status", help=cmd_status.__doc__, description=cmd_status.__doc__)
    source = status.add_mutually_exclusive_group()
    source.add_argument("--url", default=DEFAULT_URL, help=f"a running server ({DEFAULT_URL})")
    source.add_argument("--db", help="read the database instead (SQLite path or mysql:// URL)")
    status.add_argument(
        "--window", type=float, default=2.0, help="seconds between two scrapes for rates (0: none)"
    )
    _thresholds(status)
    status.set_defaults(func=cmd_status)
    jobs = sub.add_parser("jobs", help=cmd_jobs.__doc__, description=cmd_jobs.__doc__)
    jobs.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    jobs.add_argument("--stuck", action="store_true", help="only stuck jobs")
    jobs.add_argument("--fail", metavar="UUID", help="mark this job failed and undo it")
    jobs.add_argument("--reason", help="why (recorded in the job's result)")
    _thresholds(jobs)
    jobs.set_defaults(func=cmd_jobs)
