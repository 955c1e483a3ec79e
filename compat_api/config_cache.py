"""Settings read from the legacy database and kept in memory, refreshed on a timer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from compat_api.read_cache import ReadCache
from compat_api.roles import CompiledRule, compile_rules
from compat_api.zone_snapshot import ZoneSnapshot
from schema_bridge import accounts, configuration
from schema_bridge.db import Database

_NAMES = (
    "default.page.size",
    "session.timeout",
    "api.sessionkey.check.locations",
    "api.sessionkey.cookie.samesite",
    "enable.secure.session.cookie",
    "api.key.access",
)


@dataclass
class ServerConfig:
    """Everything the request path reads that lives in the database but rarely changes."""

    cloudstack_version: str
    values: dict[str, str | None] = field(default_factory=dict)
    _rules: dict[int, tuple[float, tuple[CompiledRule, ...]]] = field(default_factory=dict)
    refresh_seconds: float = 10.0
    # Hot reads of rarely changing infrastructure rows (zones), per process.
    infra_reads: ReadCache[object] = field(default_factory=lambda: ReadCache(0.0))
    # Zones and domains in memory (not used when refresh_seconds is 0).
    zones: ZoneSnapshot = field(default_factory=lambda: ZoneSnapshot(0.0))

    def _int(self, name: str, default: int) -> int:
        raw = self.values.get(name)
        try:
            return int(raw) if raw is not None else default
        except ValueError:
            return default

    @property
    def max_page_size(self) -> int:
        return self._int("default.page.size", 500)

    @property
    def session_timeout_s(self) -> int:
        return self._int("session.timeout", 30) * 60

    @property
    def sessionkey_locations(self) -> str:
        return self.values.get("api.sessionkey.check.locations") or "CookieAndParameter"

    @property
    def samesite(self) -> str:
        return self.values.get("api.sessionkey.cookie.samesite") or "Lax"

    @property
    def secure_cookie(self) -> bool:
        return (self.values.get("enable.secure.session.cookie") or "false").lower() == "true"

    @property
    def api_key_access_default(self) -> bool:
        return (self.values.get("api.key.access") or "true").lower() == "true"

    async def refresh(self, db: Database) -> None:
        async with db.reader.connect() as conn:
            self.values = await configuration.values(conn, _NAMES)
        self._rules.clear()

    async def role_rules(self, db: Database, role_id: int) -> tuple[CompiledRule, ...]:
        cached = self._rules.get(role_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.refresh_seconds:
            return cached[1]
        async with db.reader.connect() as conn:
            rules = compile_rules(await accounts.role_rules(conn, role_id))
        self._rules[role_id] = (now, rules)
        return rules
