"""Changing routes: validated set and clear, each recorded in the route history.

A change and its history row commit together; running instances poll the history's newest
id, so they pick the change up within a second. Refusals are one-line RouteRefusedError messages
raised before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api.facts import all_commands
from compat_api.routing import BACKENDS, Backend, is_read_only, join_fields, subsystem_for
from compat_api.subsystems import SUBSYSTEMS
from schema_bridge.db import Database
from schema_bridge.own_tables import route_history, routes
from schema_bridge.tables import account, domain


class RouteRefusedError(ValueError):
    """The route cannot be set as asked; the message says why, in one line."""


@dataclass(frozen=True)
class Scope:
    """What a route applies to; '' means any. `account` and `domain` are uuids."""

    subsystem: str
    command: str = ""
    account: str = ""
    domain: str = ""


@dataclass(frozen=True)
class RouteSpec:
    scope: Scope
    backend: Backend
    percent: int = 100
    shadow: bool = False
    shadow_percent: int = 100
    ignore_fields: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class StoredRoute:
    id: int
    subsystem: str
    command: str
    account: str
    domain: str
    backend: str
    percent: int
    shadow: int
    shadow_percent: int
    ignore_fields: str
    updated: datetime
    updated_by: str
    reason: str


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    who: str
    reason: str
    action: str
    subsystem: str
    command: str
    account: str
    domain: str
    before: str | None
    after: str | None


def scope_for(subsystem: str | None, command: str | None) -> Scope:
    """The scope named by --subsystem and/or --command (a command implies its subsystem)."""
    if command:
        if command not in all_commands():
            raise RouteRefusedError(f"refused: {command} is not a CloudStack command")
        owner = subsystem_for(command)
        if subsystem and subsystem != owner:
            raise RouteRefusedError(
                f"refused: {command} belongs to subsystem {owner}, not {subsystem}"
            )
        return Scope(owner, command)
    if not subsystem:
        raise RouteRefusedError("refused: name a --subsystem or a --command")
    if subsystem not in SUBSYSTEMS:
        raise RouteRefusedError(
            f"refused: unknown subsystem {subsystem} (one of {', '.join(SUBSYSTEMS)})"
        )
    return Scope(subsystem)


def validate(spec: RouteSpec, implemented: Collection[str], reason: str) -> None:
    """Everything checkable before touching the database."""
    scope = spec.scope
    if not reason.strip():
        raise RouteRefusedError("refused: --reason is required (it is kept in the route history)")
    if spec.backend not in BACKENDS:
        raise RouteRefusedError(f"refused: backend must be legacy or engine, not {spec.backend}")
    for name, value in (("--percent", spec.percent), ("--shadow-percent", spec.shadow_percent)):
        if not 0 <= value <= 100:
            raise RouteRefusedError(f"refused: {name} must be between 0 and 100, not {value}")
    if scope.account and scope.domain:
        raise RouteRefusedError("refused: a route is for an account or for a domain, not both")
    if scope.command:
        _validate_command(spec, implemented)
    elif spec.backend == "engine" and not any(
        subsystem_for(name) == scope.subsystem for name in implemented
    ):
        raise RouteRefusedError(
            f"refused: the engine implements no command of subsystem {scope.subsystem}"
        )


def _validate_command(spec: RouteSpec, implemented: Collection[str]) -> None:
    command = spec.scope.command
    if spec.backend == "engine" and command not in implemented:
        raise RouteRefusedError(
            f"refused: the engine does not implement {command}; it can only be routed to legacy"
        )
    if spec.shadow and not is_read_only(command):
        raise RouteRefusedError(
            f"refused: {command} is not read-only; mutating commands are never shadowed"
        )
    if spec.shadow and command not in implemented:
        raise RouteRefusedError(
            f"refused: cannot shadow {command}: the engine does not implement it"
        )


def normalise_domain_path(raw: str) -> str:
    """ROOT/Customers, /Customers or Customers/ → /Customers/ (the domain table's form)."""
    path = raw.strip().strip("/")
    if path.upper() == "ROOT":
        path = ""
    elif path.upper().startswith("ROOT/"):
        path = path[5:]
    return "/" + (path + "/" if path else "")


async def domain_uuid(conn: AsyncConnection, raw_path: str) -> str:
    path = normalise_domain_path(raw_path)
    query = select(domain.c.uuid).where(domain.c.path == path, domain.c.removed.is_(None))
    found = (await conn.execute(query)).scalar()
    if found is None:
        raise RouteRefusedError(f"refused: no domain with path {path}")
    return str(found)


async def account_uuid(conn: AsyncConnection, name: str, raw_path: str | None) -> str:
    """The account by name; --domain disambiguates a name used in several domains."""
    query = (
        select(account.c.uuid, domain.c.path)
        .select_from(account.join(domain, domain.c.id == account.c.domain_id))
        .where(account.c.account_name == name, account.c.removed.is_(None))
    )
    if raw_path:
        query = query.where(domain.c.path == normalise_domain_path(raw_path))
    rows = (await conn.execute(query)).all()
    if not rows:
        where = f" in domain {normalise_domain_path(raw_path)}" if raw_path else ""
        raise RouteRefusedError(f"refused: no account named {name}{where}")
    if len(rows) > 1:
        paths = ", ".join(sorted(str(r[1]) for r in rows))
        raise RouteRefusedError(
            f"refused: account {name} exists in several domains ({paths}); add --domain"
        )
    return str(rows[0][0])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _where(scope: Scope) -> Any:
    c = routes.c
    return (
        (c.subsystem == scope.subsystem)
        & (c.command == scope.command)
        & (c.account == scope.account)
        & (c.domain == scope.domain)
    )


def _as_json(row: StoredRoute | None) -> str | None:
    if row is None:
        return None
    values = asdict(row)
    values.pop("id")
    values["updated"] = row.updated.isoformat()
    return json.dumps(values, sort_keys=True)


async def _current(conn: AsyncConnection, scope: Scope) -> StoredRoute | None:
    row = (await conn.execute(select(routes).where(_where(scope)))).first()
    return None if row is None else StoredRoute(*row)


async def _record(
    conn: AsyncConnection,
    action: str,
    scope: Scope,
    who: str,
    reason: str,
    before: StoredRoute | None,
    after: StoredRoute | None,
) -> None:
    await conn.execute(
        route_history.insert().values(
            at=_now(),
            who=who[:100],
            reason=reason[:1000],
            action=action,
            subsystem=scope.subsystem,
            command=scope.command,
            account=scope.account,
            domain=scope.domain,
            before=_as_json(before),
            after=_as_json(after),
        )
    )


async def set_route(
    db: Database, spec: RouteSpec, implemented: Collection[str], who: str, reason: str
) -> tuple[StoredRoute | None, StoredRoute]:
    """Create or replace the route for spec.scope; (before, after)."""
    validate(spec, implemented, reason)
    async with db.engine.begin() as conn:
        return await set_in(conn, spec, implemented, who, reason)


async def set_in(
    conn: AsyncConnection, spec: RouteSpec, implemented: Collection[str], who: str, reason: str
) -> tuple[StoredRoute | None, StoredRoute]:
    """set_route inside the caller's transaction (a cutover writes several routes at once)."""
    validate(spec, implemented, reason)
    values = {
        "backend": spec.backend,
        "percent": spec.percent,
        "shadow": int(spec.shadow),
        "shadow_percent": spec.shadow_percent,
        "ignore_fields": join_fields(spec.ignore_fields),
        "updated": _now(),
        "updated_by": who[:100],
        "reason": reason[:1000],
    }
    before = await _current(conn, spec.scope)
    if before is None:
        await conn.execute(routes.insert().values(**asdict(spec.scope), **values))
    else:
        await conn.execute(update(routes).where(routes.c.id == before.id).values(**values))
    after = await _current(conn, spec.scope)
    assert after is not None
    await _record(conn, "set", spec.scope, who, reason, before, after)
    return before, after


async def clear_route(db: Database, scope: Scope, who: str, reason: str) -> StoredRoute | None:
    """Remove the route for `scope` (the next less specific one applies again); the removed
    route, or None when there was none (nothing is recorded then)."""
    if not reason.strip():
        raise RouteRefusedError("refused: --reason is required (it is kept in the route history)")
    async with db.engine.begin() as conn:
        return await clear_in(conn, scope, who, reason)


async def clear_in(
    conn: AsyncConnection, scope: Scope, who: str, reason: str
) -> StoredRoute | None:
    """clear_route inside the caller's transaction."""
    before = await _current(conn, scope)
    if before is None:
        return None
    await conn.execute(delete(routes).where(routes.c.id == before.id))
    await _record(conn, "clear", scope, who, reason, before, None)
    return before


async def list_routes(db: Database) -> list[StoredRoute]:
    c = routes.c
    query = select(routes).order_by(c.subsystem, c.command, c.account, c.domain)
    async with db.engine.connect() as conn:
        return [StoredRoute(*row) for row in (await conn.execute(query)).all()]


async def history(db: Database, limit: int = 50) -> list[HistoryEntry]:
    """The newest changes first."""
    query = select(route_history).order_by(route_history.c.id.desc()).limit(limit)
    async with db.engine.connect() as conn:
        return [HistoryEntry(*row) for row in (await conn.execute(query)).all()]


async def names_of(db: Database, account_uuids: set[str], domain_uuids: set[str]) -> dict[str, str]:
    """Display names: account uuid → account name, domain uuid → ROOT/... path."""
    names: dict[str, str] = {}
    async with db.engine.connect() as conn:
        if account_uuids:
            query = select(account.c.uuid, account.c.account_name).where(
                account.c.uuid.in_(account_uuids)
            )
            names.update({str(u): str(n) for u, n in (await conn.execute(query)).all()})
        if domain_uuids:
            query = select(domain.c.uuid, domain.c.path).where(domain.c.uuid.in_(domain_uuids))
            for uuid, path in (await conn.execute(query)).all():
                names[str(uuid)] = "ROOT" + str(path).rstrip("/")
    return names
