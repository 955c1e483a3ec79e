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
    _routes_of: object = None

    @property
    def rules(self) -> StuckRules:
        return StuckRules(
            dead_after_seconds=self.settings.job_dead_after_seconds,
            heartbeat_seconds=self.settings.job_heartbeat_seconds,
        )

    def state(self, app: web.Application) -> ServerState:
        return app[self.state_key]

    def routes(self, app: web.Application) -> list[RouteRow]:
        state = self.state(app)
        table = state.routes.table if state.routes is not None else None
        if self._routes is None or self._routes_of is not table:  # a new snapshot
            self._routes = route_table(state.registry, table)
            self._routes_of = table
        return self._routes


OPS: web.AppKey[Ops] = web.AppKey("ops", Ops)
