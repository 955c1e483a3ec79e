"""`stackshift route show | set | clear | history`: the live route table, from the database.

Running instances pick a change up within a second; nothing restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from compat_api.commands import build_registry
from compat_api.registry import AUTHENTICATORS
from compat_api.routing import ENGINE, LEGACY
from migrate import routes as store
from schema_bridge.db import Database, open_database


def _who(args: argparse.Namespace) -> str:
    if args.who:
        return str(args.who)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def _scope(db: Database, args: argparse.Namespace) -> store.Scope:
    scope = store.scope_for(args.subsystem, args.command)
    async with db.engine.connect() as conn:
        if args.account:
            uuid = await store.account_uuid(conn, args.account, args.domain)
            return store.Scope(scope.subsystem, scope.command, account=uuid)
        if args.domain:
            uuid = await store.domain_uuid(conn, args.domain)
            return store.Scope(scope.subsystem, scope.command, domain=uuid)
    return scope


def _describe(route: store.StoredRoute, names: dict[str, str]) -> str:
    parts = [route.subsystem, route.command or "*"]
    who = names.get(route.account, route.account) if route.account else ""
    where = names.get(route.domain, route.domain) if route.domain else ""
    parts.append(f"account={who}" if who else (f"domain={where}" if where else "everyone"))
    parts.append(route.backend + (f" {route.percent}%" if route.percent < 100 else ""))
    if route.shadow:
        shadow = f"shadow {route.shadow_percent}%"
        parts.append(shadow + (f" ignoring {route.ignore_fields}" if route.ignore_fields else ""))
    return "  ".join(parts)


async def _show(db: Database, legacy_default: bool) -> str:
    rows = await store.list_routes(db)
    names = await store.names_of(
        db, {r.account for r in rows if r.account}, {r.domain for r in rows if r.domain}
    )
    default = LEGACY if legacy_default else ENGINE
    lines = [
        f"Routes: {len(rows)}; anything unrouted goes to legacy when a legacy URL is "
        f"configured, else to the engine (here: {default}); commands the engine does not "
        "implement always go to legacy"
    ]
    for route in rows:
        lines.append(
            f"  {_describe(route, names)}  ({route.updated:%Y-%m-%d %H:%M:%S} "
            f"by {route.updated_by}: {route.reason})"
        )
    return "\n".join(lines)


async def _set(db: Database, args: argparse.Namespace) -> str:
    spec = store.RouteSpec(
        scope=await _scope(db, args),
        backend=args.backend,
        percent=args.percent,
        shadow=args.shadow,
        shadow_percent=args.shadow_percent,
        ignore_fields=frozenset(args.ignore_field or ()),
    )
    implemented = [*build_registry().names(), *AUTHENTICATORS, "listOauthProvider"]
    before, after = await store.set_route(db, spec, implemented, _who(args), args.reason or "")
    names = await store.names_of(db, {after.account} - {""}, {after.domain} - {""})
    was = f" (was: {_describe(before, names)})" if before else ""
    return f"route set: {_describe(after, names)}{was}"


async def _clear(db: Database, args: argparse.Namespace) -> str:
    scope = await _scope(db, args)
    removed = await store.clear_route(db, scope, _who(args), args.reason or "")
    if removed is None:
        return "no such route; nothing changed"
    names = await store.names_of(db, {removed.account} - {""}, {removed.domain} - {""})
    return f"route cleared: {_describe(removed, names)}"


async def _history(db: Database, limit: int) -> str:
    entries = await store.history(db, limit)
    lines = [f"Route history (newest first, {len(entries)} shown)"]
    for e in entries:
        scope = "/".join(x for x in (e.subsystem, e.command, e.account, e.domain) if x)
        lines.append(f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.who}  {e.action} {scope}: {e.reason}")
        lines.append(f"      before: {e.before or '-'}")
        lines.append(f"      after:  {e.after or '-'}")
    return "\n".join(lines)


async def _run(args: argparse.Namespace) -> str:
    db = await open_database(args.db)
    try:
        if args.route_command == "show":
            return await _show(db, bool(args.legacy_url))
        if args.route_command == "set":
            return await _set(db, args)
        if args.route_command == "clear":
            return await _clear(db, args)
        return await _history(db, args.limit)
    finally:
        await db.dispose()


def cmd_route(args: argparse.Namespace) -> int:
    """Show, set or clear routes (which backend answers a subsystem, command, account or
    domain), or show their history."""
    try:
        print(asyncio.run(_run(args)))
    except store.RouteRefusedError as refused:
        print(f"stackshift: {refused}", file=sys.stderr)
        return 2
    return 0


def _scope_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subsystem", help="a subsystem (vm, volume, network, ...)")
    parser.add_argument("--command", help="one command (its subsystem is implied)")
    parser.add_argument("--account", help="only this account (by name)")
    parser.add_argument(
        "--domain",
        help="only this domain and its subdomains (ROOT/Path); with --account, "
        "the account's domain",
    )
    parser.add_argument("--reason", help="why (required; kept in the history)")
    parser.add_argument("--who", help="who makes the change (default: the OS user)")


def add_commands(sub: Any) -> None:
    """Register `route` on the `stackshift` sub-command parser."""
    route = sub.add_parser("route", help=cmd_route.__doc__, description=cmd_route.__doc__)
    actions = route.add_subparsers(dest="route_command", required=True)
    show = actions.add_parser("show", help="the routes as stored now")
    show.add_argument("--legacy-url", help="say which default applies with this legacy URL")
    one = actions.add_parser("set", help="create or replace a route")
    one.add_argument("backend", choices=[LEGACY, ENGINE])
    _scope_options(one)
    one.add_argument("--percent", type=int, default=100, help="sticky canary share of accounts")
    one.add_argument("--shadow", action="store_true", help="mirror read-only calls to the other")
    one.add_argument("--shadow-percent", type=int, default=100, help="share of calls mirrored")
    one.add_argument(
        "--ignore-field", action="append", help="a field shadow comparison ignores; repeatable"
    )
    clear = actions.add_parser("clear", help="remove a route")
    _scope_options(clear)
    past = actions.add_parser("history", help="who changed which route, when and why")
    past.add_argument("--limit", type=int, default=50)
    for parser in (show, one, clear, past):
        parser.add_argument("--db", required=True, help="SQLite path or mysql:// URL")
    route.set_defaults(func=cmd_route)
