"""`stackshift diffs` and `stackshift coverage`: what shadow comparison found, and how far
each command has moved. Each sub-command is a plain function; its docstring is its help.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from compat_api import coverage, routing
from compat_api.commands import build_registry
from compat_api.shadow_report import FieldReport, command_rates, field_report
from compat_api.shadow_settings import ShadowSettings
from compat_api.shadow_stats import COMMAND_FIELD, Thresholds
from compat_api.signing import sign
from schema_bridge.db import open_database

HTTP_TIMEOUT = 30.0
SECRET_ENV = "STACKSHIFT_LEGACY_SECRET_KEY"  # noqa: S105 - a variable name, not a secret


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(relative=args.relative, absolute=args.absolute)


async def _diffs(args: argparse.Namespace) -> list[FieldReport]:
    db = await open_database(args.db)
    try:
        return await field_report(db, args.command, _thresholds(args))
    finally:
        await db.dispose()


def _example(row: FieldReport) -> str:
    example = row.example
    if example is None:
        return ""
    other = "engine" if example.primary_backend == "legacy" else "legacy"
    if example.kind == "noise":
        other = f"{example.primary_backend} again"
    return (
        f"{example.path}: {example.primary_value!r} ({example.primary_backend}) vs "
        f"{example.other_value!r} ({other})"
    )


def diffs_text(report: list[FieldReport], everything: bool) -> str:
    lines = []
    for row in report:
        if row.field == COMMAND_FIELD:
            differing = sum(
                r.different for r in report if r.command == row.command and r.field != COMMAND_FIELD
            )
            lines.append(
                f"{row.command}: {row.samples} samples, {row.noise_samples} noise samples, "
                f"{differing} field(s) different"
            )
            lines.append(
                f"  {'field':<48} {'samples':>8} {'diff':>7} {'noise':>7}  verdict    example"
            )
            continue
        if not everything and not row.diffs and not row.noise_diffs:
            continue
        verdict = "DIFFERENT" if row.different else ("noise" if row.noise_diffs else "-")
        lines.append(
            f"  {row.field:<48} {row.samples:>8} {row.rate:>7.1%} {row.noise_rate:>7.1%}  "
            f"{verdict:<10} {_example(row)}"
        )
    return "\n".join(lines) if lines else "No shadow comparisons recorded."


def cmd_diffs(args: argparse.Namespace) -> int:
    """Shadow comparison results per command and field: samples, candidate difference rate,
    noise rate (primary vs itself), whether it counts as a difference, an example pair.
    Exit status 1 when any field counts as different."""
    report = asyncio.run(_diffs(args))
    print(diffs_text(report, args.all))
    return 1 if any(r.different for r in report) else 0


def fetch_listapis(url: str, api_key: str, secret: str) -> Any:
    """The legacy server's own listApis answer (signed with an admin's keys)."""
    pairs = [("command", "listApis"), ("response", "json"), ("apiKey", api_key)]
    pairs.append(("signature", sign(pairs, secret)))
    query = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
    with urllib.request.urlopen(f"{url}?{query}", timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - operator's URL
        return json.loads(response.read())


def _secret(args: argparse.Namespace) -> str | None:
    if args.secret_key_file:
        return Path(args.secret_key_file).read_text().strip()
    return os.environ.get(SECRET_ENV)


def _names(args: argparse.Namespace) -> list[str]:
    if args.listapis:
        return coverage.load_capture(args.listapis)
    if args.legacy_url:
        secret = _secret(args)
        if not args.api_key or not secret:
            raise ValueError(
                f"--legacy-url needs --api-key and --secret-key-file (or {SECRET_ENV})"
            )
        return coverage.capture_names(fetch_listapis(args.legacy_url, args.api_key, secret))
    return coverage.shipped_names()


async def _coverage(args: argparse.Namespace, names: list[str]) -> str:
    table = routing.RouteTable(legacy=True)
    rates = {}
    if args.db:
        db = await open_database(args.db)
        try:
            table = await routing.load(db, legacy=True)
            rates = await command_rates(db, _thresholds(args))
        finally:
            await db.dispose()
    parity = coverage.parity_commands()
    return coverage.render(coverage.rows(names, build_registry(), table, parity, rates))


def cmd_coverage(args: argparse.Namespace) -> int:
    """Every command of a listApis capture (the shipped facts, a file, or a legacy server's
    listApis): subsystem, engine implementation, route, parity test, shadow difference rate."""
    try:
        names = _names(args)
        text = asyncio.run(_coverage(args, names))
    except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
        print(f"stackshift: coverage: {error}", file=sys.stderr)
        return 2
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write} ({len(names)} commands)")
    else:
        print(text, end="")
    return 0


def _threshold_options(parser: argparse.ArgumentParser) -> None:
    defaults = Thresholds()
    parser.add_argument(
        "--relative",
        type=float,
        default=defaults.relative,
        help=f"a field differs when its rate exceeds the noise rate by this share of it "
        f"({defaults.relative})",
    )
    parser.add_argument(
        "--absolute",
        type=float,
        default=defaults.absolute,
        help=f"...and by at least this much, as a fraction ({defaults.absolute})",
    )


def add_commands(sub: Any) -> None:
    """Register `diffs` and `coverage` on the `stackshift` sub-command parser."""
    diffs = sub.add_parser("diffs", help=cmd_diffs.__doc__, description=cmd_diffs.__doc__)
    diffs.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    diffs.add_argument("--command", help="only this command")
    diffs.add_argument("--all", action="store_true", help="also fields that never differed")
    _threshold_options(diffs)
    diffs.set_defaults(func=cmd_diffs)
    cov = sub.add_parser("coverage", help=cmd_coverage.__doc__, description=cmd_coverage.__doc__)
    cov.add_argument("--db", help="routes and shadow results from this database")
    source = cov.add_mutually_exclusive_group()
    source.add_argument("--listapis", metavar="FILE", help="a saved listApis JSON answer")
    source.add_argument("--legacy-url", help="ask this legacy API URL for its listApis")
    cov.add_argument("--api-key", help="an admin's API key at the legacy server")
    cov.add_argument("--secret-key-file", help=f"file holding its secret key (or {SECRET_ENV})")
    cov.add_argument(
        "--write", metavar="FILE", help="write the Markdown here (e.g. docs/coverage.md)"
    )
    _threshold_options(cov)
    cov.set_defaults(func=cmd_coverage)


def serve_options(parser: argparse.ArgumentParser) -> None:
    """`serve` and `demo` options for the shadow mirror."""
    defaults = ShadowSettings()
    parser.add_argument(
        "--shadow-noise-percent",
        type=float,
        default=defaults.noise_percent,
        help="share of mirrored calls for which the primary is asked twice, to measure "
        f"fields that differ anyway ({defaults.noise_percent:g})",
    )
    parser.add_argument(
        "--shadow-queue",
        type=int,
        default=defaults.queue_size,
        help=f"calls waiting to be mirrored before more are dropped ({defaults.queue_size})",
    )
    parser.add_argument(
        "--shadow-workers",
        type=int,
        default=defaults.workers,
        help=f"concurrent replays per process ({defaults.workers})",
    )


def serve_settings(args: argparse.Namespace) -> ShadowSettings:
    return ShadowSettings(
        noise_percent=args.shadow_noise_percent,
        queue_size=args.shadow_queue,
        workers=args.shadow_workers,
    )
