"""Zones and the domain tree held in memory, reloaded in the background.

listZones is the read every UI page makes, and the first one after login, where it races
listApis: the UI builds its menu when listApis answers and assumes the zones are already
there (a real server's listApis is the slower call by far). Answered from memory, with no
database round trip, listZones is done before a call sent after it. Zones and domains
change rarely (an administrator's createZone or createDomain); a change is seen here within
`refresh_seconds`, as role rules are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from schema_bridge import accounts, infra
from schema_bridge.db import Database
from schema_bridge.infra import ZoneFilter
from schema_bridge.paging import Page

_LOG = logging.getLogger("stackshift.zones")
# A snapshot that could not be reloaded for this many periods is not used: the database
# answers (or fails) instead, so an outage never serves old rows for long.
_STALE_PERIODS = 3


@dataclass
class ZoneSnapshot:
    """Every zone (in listing order) and every domain's id by path, as last loaded."""

    refresh_seconds: float
    _zones: list[Any] = field(default_factory=list)
    _domains: dict[str, int] = field(default_factory=dict)
    _loaded_at: float | None = None
    _names_ignore_case: bool = False
    _task: asyncio.Task[None] | None = None

    async def load(self, db: Database) -> None:
        async with db.reader.connect() as conn:
            zones = await infra.all_zones(conn)
            domains = await accounts.domain_ids_by_path(conn)
        self._zones, self._domains = zones, domains
        self._names_ignore_case = db.is_mysql
        self._loaded_at = time.monotonic()

    async def start(self, db: Database) -> None:
        """Load now and keep reloading; with no refresh period, listZones reads the database."""
        if self.refresh_seconds <= 0:
            return
        await self.load(db)
        self._task = asyncio.create_task(self._reload(db), name="zone-snapshot")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _reload(self, db: Database) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.load(db)
            except (SQLAlchemyError, OSError) as error:
                _LOG.warning("zone snapshot not reloaded (the last one stays): %s", error)

    def usable(self) -> bool:
        if self._loaded_at is None or self.refresh_seconds <= 0:
            return False
        return time.monotonic() - self._loaded_at < self.refresh_seconds * _STALE_PERIODS

    def ancestors(self, path: str) -> tuple[int, ...]:
        """What accounts.ancestor_domain_ids answers, from the snapshot."""
        prefixes = accounts.domain_path_prefixes(path)
        return tuple(self._domains[p] for p in prefixes if p in self._domains)

    def page(self, f: ZoneFilter, offset: int, limit: int | None) -> Page:
        """What infra.zones answers, from the snapshot."""
        rows = [row for row in self._zones if infra.zone_matches(row, f, self._names_ignore_case)]
        end = None if limit is None else offset + limit
        return Page(rows[offset:end], len(rows))
