"""The `stackshift` command line.

Each sub-command is a plain function; its docstring is its help.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from compat_api import cli_cutover, cli_ops, cli_routes, cli_shadow, demo, ui_files
from compat_api.server import serve as run_server
from compat_api.settings import DEFAULT_PORT, Settings
from migrate import cli as migrate_cli

DEFAULT_DEMO_DB = "stackshift-demo.db"


def _key_from(args: argparse.Namespace) -> str | None:
    if args.encryption_key_file:
        return Path(args.encryption_key_file).read_text().strip()
    return os.environ.get("STACKSHIFT_ENCRYPTION_KEY")


def _workers(args: argparse.Namespace, db_url: str) -> int:
    if args.workers:
        return int(args.workers)
    # SQLite serialises writers; one process keeps the demo simple. MariaDB uses every core.
    return 1 if "://" not in db_url or db_url.startswith("sqlite") else (os.cpu_count() or 1)


def _delays(values: list[str] | None) -> tuple[tuple[str, float], ...]:
    delays = []
    for value in values or ():
        operation, _, seconds = value.partition("=")
        delays.append((operation.strip(), float(seconds)))
    return tuple(delays)


def _server_settings(args: argparse.Namespace, db_url: str, key: str | None) -> Settings:
    return Settings(
        db_url=db_url,
        host=args.host,
        port=args.port,
        workers=_workers(args, db_url),
        encryption_key=key,
        debug_log=args.debug_log,
        legacy_url=args.legacy_url,
        legacy_timeout_seconds=args.legacy_timeout,
        drain_delay_seconds=args.drain_delay,
        job_dead_after_seconds=args.job_dead_after,
        job_heartbeat_seconds=min(2.0, args.job_dead_after / 4),
        simulator_delays=_delays(args.simulator_delay),
        ui_dir=args.ui_dir,
        shadow=cli_shadow.serve_settings(args),
    )


def _ui_problem(args: argparse.Namespace) -> str | None:
    if not args.ui_dir:
        return None
    try:
        ui_files.check_dir(args.ui_dir)
    except ValueError as exc:
        return str(exc)
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    """Create (if absent) and serve a demo cloud on an embedded database; print how to log in."""
    problem = _ui_problem(args)
    if problem:
        print(f"stackshift: {problem}", file=sys.stderr)
        return 2
    db_url = args.db or DEFAULT_DEMO_DB
    key_file = Path(f"{db_url}.key") if "://" not in db_url else None
    key = _key_from(args)
    if key is None and key_file is not None:
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(24) + "\n")
            key_file.chmod(0o600)
        key = key_file.read_text().strip()
    credentials = asyncio.run(demo.prepare(db_url, args.hosts, key))
    print(demo.banner(credentials, args.host, args.port))
    if args.ui_dir:
        print(f"  web UI       : http://{args.host}:{args.port}/client/")
    return run_server(_server_settings(args, db_url, key))


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the CloudStack API against an existing legacy database."""
    key = _key_from(args)
    problem = _ui_problem(args) or asyncio.run(demo.check_database(args.db, args.job_dead_after))
    if problem:
        print(f"stackshift: {problem}", file=sys.stderr)
        return 2
    return run_server(_server_settings(args, args.db, key))


def cmd_db_init(args: argparse.Namespace) -> int:
    """Create the legacy tables and seed a realistic demo cloud in an empty database."""
    credentials = asyncio.run(demo.prepare(args.db, args.hosts, _key_from(args), must_be_new=True))
    print(demo.banner(credentials, None, None))
    return 0


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes (default: cores; 1 on SQLite)"
    )
    parser.add_argument("--debug-log", help="file for tracebacks, keyed by error id")
    parser.add_argument(
        "--legacy-url",
        help="legacy management server API URL (http://host:8080/client/api): calls routed "
        "to legacy, and commands the engine does not implement, are forwarded there",
    )
    parser.add_argument(
        "--legacy-timeout",
        type=float,
        default=60.0,
        help="seconds a forwarded call may take before the caller gets a 530 (60)",
    )
    parser.add_argument(
        "--ui-dir",
        help="a CloudStack UI build (the directory holding its index.html) to serve at /client/",
    )
    parser.add_argument(
        "--job-dead-after",
        type=float,
        default=15.0,
        help="seconds without a heartbeat before another instance resumes a process's jobs",
    )
    parser.add_argument(
        "--simulator-delay",
        action="append",
        metavar="OPERATION=SECONDS",
        help="make every Simulator host slow down an operation (start, stop, define...), "
        "for demos and failure drills; repeatable",
    )
    parser.add_argument(
        "--drain-delay",
        type=float,
        default=0.0,
        help="seconds to keep serving after SIGTERM while /readyz says 503 (set it to the "
        "load balancer's check interval x fall count)",
    )
    cli_shadow.serve_options(parser)


def _key_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encryption-key-file",
        help="file holding db.cloud.encrypt.secret (or set STACKSHIFT_ENCRYPTION_KEY)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackshift", description="CloudStack-compatible API shim"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands: list[tuple[str, Callable[[argparse.Namespace], int]]] = [
        ("demo", cmd_demo),
        ("serve", cmd_serve),
    ]
    for name, func in commands:
        one = sub.add_parser(name, help=func.__doc__, description=func.__doc__)
        one.set_defaults(func=func)
        _server_options(one)
        _key_option(one)
        one.add_argument("--db", required=name == "serve", help="SQLite path or mysql:// URL")
        if name == "demo":
            one.add_argument("--hosts", type=int, default=4, help="Simulator hosts to create")
    db = sub.add_parser("db", help="legacy database tooling")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    init = db_sub.add_parser("init", help=cmd_db_init.__doc__, description=cmd_db_init.__doc__)
    init.set_defaults(func=cmd_db_init)
    init.add_argument("--db", required=True)
    init.add_argument("--hosts", type=int, default=4)
    _key_option(init)
    cli_ops.add_commands(sub)
    cli_routes.add_commands(sub)
    cli_cutover.add_commands(sub)
    cli_shadow.add_commands(sub)
    migrate_cli.add_commands(sub)
    migrate_cli.add_db_commands(db_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
