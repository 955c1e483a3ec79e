"""What the operability endpoints share inside one application."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from compat_api.dispatch import ServerState
from compat_api.ops.drain import Drain
from compat_api.ops.metrics import Metrics
from compat_api.ops.routing import RouteRow, route_table
from compat_api.ops.stuck import StuckRules
from compat_api.settings import Settings


@dataclass
class Ops:
    settings: Settings
    state_key: web.AppKey[ServerState]
    metrics: Metrics
    drain: Drain = field(default_factory=Drain)
    _routes: list[RouteRow] | None = None

    @property
    def rules(self) -> StuckRules:
        return StuckRules(
            dead_after_seconds=self.settings.job_dead_after_seconds,
            heartbeat_seconds=self.settings.job_heartbeat_seconds,
        )

    def state(self, app: web.Application) -> ServerState:
        return app[self.state_key]

    def routes(self, app: web.Application) -> list[RouteRow]:
        if self._routes is None:
            self._routes = route_table(self.state(app).registry)
        return self._routes


OPS: web.AppKey[Ops] = web.AppKey("ops", Ops)
