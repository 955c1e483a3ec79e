"""Which backend answers a call: the live route table and the decision for one request.

Routes are rows in `stackshift_routes` (see migrate/routes.py for how they change). Each
process holds a frozen snapshot and a RouteWatcher that swaps it within half a second of
any change, so every instance honours a new route within one second without a restart.

Precedence, most specific first: command+account, command+domain, command,
subsystem+account, subsystem+domain, subsystem, then the default (legacy when a legacy
URL is configured, else the engine). A route with percent < 100 is a sticky canary: a hash
of the account uuid and the subsystem puts an account inside or outside it, always the same
way; outside, the next less specific route decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, Protocol

from sqlalchemy import RowMapping, func, select
from sqlalchemy.exc import SQLAlchemyError

from compat_api.facts import all_commands
from compat_api.subsystems import subsystem_of
from schema_bridge.db import Database
from schema_bridge.own_tables import route_history, routes
from schema_bridge.tables import domain

if TYPE_CHECKING:
    from compat_api.dispatch import ApiRequest
    from compat_api.registry import Command

Backend = Literal["legacy", "engine"]
LEGACY: Final = "legacy"
ENGINE: Final = "engine"
BACKENDS: tuple[Backend, ...] = (LEGACY, ENGINE)
POLL_SECONDS = 0.5
_LOG = logging.getLogger("stackshift.routing")

# Read-looking names that change state or run work: never mirrored, never run twice.
_NOT_READ_ONLY = frozenset(
    {
        "listAndSwitchSAMLAccount",
        "getUploadParamsForIso",
        "getUploadParamsForTemplate",
        "getUploadParamsForVolume",
        "getUploadParamsForKubernetesSupportedVersion",
        "getRouterHealthCheckResults",
        "getDiagnosticsData",
    }
)
_READ_PREFIXES = ("list", "get", "query", "is")


def is_read_only(name: str) -> bool:
    """True only for commands safe to run twice: a list/get/query/is name (the verb must end
    where a capital letter starts), synchronous, and not on the known-mutating list."""
    facts = all_commands().get(name)
    if facts is None or facts.isasync or name in _NOT_READ_ONLY:
        return False
    for prefix in _READ_PREFIXES:
        rest = name[len(prefix) :]
        if name.startswith(prefix) and rest[:1].isupper():
            return True
    return False


def subsystem_for(name: str) -> str:
    """The command's subsystem, or '' for a name CloudStack does not have."""
    try:
        return subsystem_of(name)
    except KeyError:
        return ""


def in_canary(account_uuid: str, subsystem: str, percent: int) -> bool:
    """Sticky: the same account and subsystem land on the same side every time."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{account_uuid}:{subsystem}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


@dataclass(frozen=True)
class Route:
    id: int
    subsystem: str
    command: str
    account: str
    domain: str
    backend: Backend
    percent: int = 100
    shadow: bool = False
    shadow_percent: int = 100
    ignore_fields: frozenset[str] = frozenset()
    # The domain's path (/Customers/Acme/) for a domain route, resolved when loaded.
    domain_path: str = ""


@dataclass(frozen=True)
class Decision:
    backend: Backend
    shadow: bool = False
    shadow_percent: int = 100
    ignore_fields: frozenset[str] = frozenset()
    route_id: int | None = None

    @property
    def other(self) -> Backend:
        return ENGINE if self.backend == LEGACY else LEGACY


@dataclass(frozen=True)
class RouteTable:
    """An immutable snapshot; a new one replaces it whole when routes change."""

    routes: tuple[Route, ...] = ()
    legacy: bool = False
    version: int = 0
    _by_key: dict[tuple[str, str], tuple[Route, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _needs_caller: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[tuple[str, str], list[Route]] = {}
        for route in self.routes:
            grouped.setdefault((route.subsystem, route.command), []).append(route)
        for key, rows in grouped.items():
            self._by_key[key] = tuple(sorted(rows, key=_specificity))
        personal = any(r.account or r.domain or r.percent < 100 for r in self.routes)
        object.__setattr__(self, "_needs_caller", personal)

    @property
    def default(self) -> Backend:
        return LEGACY if self.legacy else ENGINE

    @property
    def needs_caller(self) -> bool:
        """Whether any route depends on who calls (account, domain or canary); when none
        does, a request is routed without looking its caller up."""
        return self._needs_caller

    def decide(
        self,
        command: Command | None,
        name: str,
        subsystem: str | None = None,
        account_uuid: str = "",
        domain_path: str = "",
        *,
        implemented: bool | None = None,
    ) -> Decision:
        """`implemented` says whether the engine has the command (default: `command` given;
        login and logout are not registry commands but the engine serves them)."""
        subsystem = subsystem_for(name) if subsystem is None else subsystem
        implemented = command is not None if implemented is None else implemented
        route = self._match(name, subsystem, account_uuid, domain_path)
        backend = route.backend if route else self.default
        if backend == ENGINE and not implemented and self.legacy:
            backend = LEGACY  # a subsystem route covers only what the engine implements
        if backend == LEGACY and not self.legacy:
            backend = ENGINE  # nowhere to forward: the engine answers (unknown command)
        if route is None:
            return Decision(backend)
        other_ok = implemented if backend == LEGACY else self.legacy
        return Decision(
            backend,
            shadow=route.shadow and other_ok and is_read_only(name),
            shadow_percent=route.shadow_percent,
            ignore_fields=route.ignore_fields,
            route_id=route.id,
        )

    def _match(self, name: str, subsystem: str, account_uuid: str, path: str) -> Route | None:
        for key in ((subsystem, name), (subsystem, "")):
            for route in self._by_key.get(key, ()):
                if route.account and route.account != account_uuid:
                    continue
                if route.domain and not (path and path.startswith(route.domain_path)):
                    continue
                if in_canary(account_uuid, subsystem, route.percent):
                    return route
        return None


def _specificity(route: Route) -> tuple[int, int]:
    """Account routes first, then domain routes deepest first, then the catch-all."""
    if route.account:
        return (0, 0)
    if route.domain:
        return (1, -route.domain_path.count("/"))
    return (2, 0)


async def load(db: Database, legacy: bool) -> RouteTable:
    """The routes as stored now, with domain routes' paths resolved."""
    query = select(routes, domain.c.path).select_from(
        routes.outerjoin(domain, domain.c.uuid == routes.c.domain)
    )
    async with db.engine.connect() as conn:
        version = (await conn.execute(select(func.max(route_history.c.id)))).scalar()
        rows = (await conn.execute(query)).mappings().all()
    return RouteTable(tuple(_route(row) for row in rows), legacy, int(version or 0))


def _route(row: RowMapping) -> Route:
    get = row.__getitem__
    return Route(
        id=int(get("id")),
        subsystem=get("subsystem"),
        command=get("command"),
        account=get("account"),
        domain=get("domain"),
        backend=ENGINE if get("backend") == ENGINE else LEGACY,
        percent=int(get("percent")),
        shadow=bool(get("shadow")),
        shadow_percent=int(get("shadow_percent")),
        ignore_fields=split_fields(get("ignore_fields")),
        # A route for a deleted domain matches nobody.
        domain_path=get("path") or ("\0" if get("domain") else ""),
    )


def split_fields(value: str | None) -> frozenset[str]:
    return frozenset(f.strip() for f in (value or "").split(",") if f.strip())


def join_fields(fields: Iterable[str]) -> str:
    return ",".join(sorted({f.strip() for f in fields if f.strip()}))


class RouteWatcher:
    """This process's current RouteTable, refreshed when the route history grows."""

    def __init__(self, db: Database, legacy: bool, poll_seconds: float = POLL_SECONDS) -> None:
        self.db = db
        self.table = RouteTable(legacy=legacy)
        self._poll = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._warned = False

    async def start(self) -> None:
        await self.refresh(force=True)
        self._task = asyncio.create_task(self._run(), name="route-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def refresh(self, force: bool = False) -> None:
        """Reload when the history's newest id changed (one cheap query otherwise)."""
        try:
            if not force:
                async with self.db.engine.connect() as conn:
                    newest = (await conn.execute(select(func.max(route_history.c.id)))).scalar()
                if int(newest or 0) == self.table.version:
                    return
            self.table = await load(self.db, self.table.legacy)
            self._warned = False
        except (SQLAlchemyError, OSError) as error:
            if not self._warned:  # one line per outage, not one per poll
                _LOG.warning("route table not refreshed (%s); keeping the current one", error)
                self._warned = True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            await self.refresh()


@dataclass(frozen=True)
class MirrorCall:
    """A served read-only call offered for shadow comparison on the other backend."""

    request: ApiRequest
    command: str
    primary: Backend
    status: int
    body: bytes
    decision: Decision


class ShadowSink(Protocol):
    """Takes calls to mirror; must return at once (never awaited in the request path)."""

    def offer(self, call: MirrorCall) -> None: ...
