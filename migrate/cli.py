"""The `stackshift check`, `stackshift instances` and `stackshift db upgrade` commands.

Each sub-command is a plain function; its docstring is its help. compat_api/cli.py registers
them with `add_commands` and `add_db_commands`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, pool
from sqlalchemy.exc import SQLAlchemyError

from migrate import fleet, schema, upgrade
from migrate.check import exit_status, run_checks
from migrate.checks import Finding, Target
from schema_bridge.db import open_database

DEFAULT_DEAD_AFTER = 15.0


async def _check(args: argparse.Namespace) -> list[Finding]:
    db = await open_database(args.db)
    try:
        target = Target(
            db=db,
            url=args.db,
            legacy_url=args.legacy_url,
            api_key=args.api_key,
            secret_key=args.secret_key,
            encryption_key=_encryption_key(args),
            dead_after_seconds=args.dead_after,
        )
        return await run_checks(target)
    finally:
        await db.dispose()


def _encryption_key(args: argparse.Namespace) -> str | None:
    if args.encryption_key_file:
        return Path(args.encryption_key_file).read_text().strip()
    return os.environ.get("STACKSHIFT_ENCRYPTION_KEY")


def cmd_check(args: argparse.Namespace) -> int:
    """Preflight of a CloudStack database (and its legacy API with --legacy-url): one line per
    check, PASS, WARN or FAIL, with what to do for a FAIL. Exit status 1 on any FAIL."""
    try:
        findings = asyncio.run(_check(args))
    except ValueError as error:  # an unusable URL
        findings = [Finding("FAIL", "database", str(error), "give a mysql:// URL or a path")]
    for finding in findings:
        print(finding.line())
    return exit_status(findings)


def cmd_instances(args: argparse.Namespace) -> int:
    """Registered stackshift instances: id, version, schema revision, host, pid, start, last
    heartbeat, draining, and alive or dead (dead: no heartbeat for --dead-after seconds)."""
    try:
        found = _instances(args.db, args.dead_after)
    except (ValueError, SQLAlchemyError) as error:
        return _cannot_read(args.db, error)
    if not found:
        print("no stackshift instance has registered")
        return 0
    print("\n".join(fleet.render(found)))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply pending revisions of stackshift's own tables (never the legacy ones). Expand
    revisions always run; a contract revision is refused while an instance of an older release
    is alive. --check only reports: exit status 1 when something is pending."""
    try:
        with upgrade.schema_lock(args.db):
            return _db_upgrade(args)
    except upgrade.TableBusy as error:
        print(f"stackshift: {error}", file=sys.stderr)
        return 1
    except (ValueError, SQLAlchemyError, TimeoutError) as error:
        return _cannot_read(args.db, error)


def _instances(url: str, dead_after: float) -> list[fleet.Instance]:
    engine = create_engine(schema.sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return fleet.read(conn, dead_after)
    finally:
        engine.dispose()


def _cannot_read(url: str, error: Exception) -> int:
    """One line, without the URL's password, instead of a traceback."""
    where = (
        make_url(schema.sync_url(url)).render_as_string(hide_password=True) if "://" in url else url
    )
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    print(f"stackshift: cannot use the database {where}: {reason}", file=sys.stderr)
    return 2


def _db_upgrade(args: argparse.Namespace) -> int:
    plan = upgrade.plan(args.db, args.dead_after)
    if plan.ahead:
        print(f"the database is at {plan.current}, newer than this release knows")
        return 1
    if not plan.pending:
        print(f"up to date at {plan.current}")
        return 0
    print(f"at {plan.current or 'nothing (no stackshift tables yet)'}; pending:")
    for revision in plan.pending:
        print(f"  {upgrade.describe(revision)}")
    if args.check:
        if plan.blocked is not None:
            print(upgrade.refusal(plan))
        return 1
    upgrade.apply(args.db, plan.runnable)
    for revision in plan.runnable:
        print(f"applied {revision.id}")
    if plan.blocked is not None:
        print(upgrade.refusal(plan), file=sys.stderr)
        return 1
    return 0


def _dead_after(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dead-after",
        type=float,
        default=DEFAULT_DEAD_AFTER,
        help="seconds without a heartbeat before an instance counts as dead "
        f"({DEFAULT_DEAD_AFTER:.0f}, as `serve --job-dead-after`)",
    )


def add_commands(sub: Any) -> None:
    """Register `check` and `instances` on the `stackshift` sub-command parser."""
    check = sub.add_parser("check", help=cmd_check.__doc__, description=cmd_check.__doc__)
    check.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    check.add_argument("--legacy-url", help="the legacy management server's API URL")
    check.add_argument("--api-key", help="keys for signed legacy calls (default: root admin's)")
    check.add_argument("--secret-key")
    check.add_argument(
        "--encryption-key-file",
        help="file holding db.cloud.encrypt.secret, to read the root admin's keys "
        "(or set STACKSHIFT_ENCRYPTION_KEY)",
    )
    _dead_after(check)
    check.set_defaults(func=cmd_check)
    instances = sub.add_parser(
        "instances", help=cmd_instances.__doc__, description=cmd_instances.__doc__
    )
    instances.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    _dead_after(instances)
    instances.set_defaults(func=cmd_instances)


def add_db_commands(db_sub: Any) -> None:
    """Register `db upgrade` on the `stackshift db` sub-command parser."""
    up = db_sub.add_parser(
        "upgrade", help=cmd_db_upgrade.__doc__, description=cmd_db_upgrade.__doc__
    )
    up.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    up.add_argument("--check", action="store_true", help="only say what is pending")
    _dead_after(up)
    up.set_defaults(func=cmd_db_upgrade)
