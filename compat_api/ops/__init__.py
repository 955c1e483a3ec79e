"""Operability: /healthz, /readyz, /metrics, /status(.json), request metrics, graceful drain.

`setup` adds the routes and this package's lifecycle to an application; the request
middleware in compat_api.app calls `observe` once per answered request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from compat_api import logs
from compat_api.dispatch import ServerState
from compat_api.facts import all_commands
from compat_api.ops import drain, health, scrape, status_page
from compat_api.ops.metrics import Metrics
from compat_api.ops.runtime import OPS, Ops
from compat_api.ops.snapshot import now_utc
from compat_api.settings import Settings
from schema_bridge import instances

LOG = logging.getLogger("stackshift.ops")
# Load-balancer checks and scrapes: counted in neither the access log nor the metrics,
# which would otherwise be mostly about themselves.
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
# Pool use and job durations of a worker that nobody scrapes still reach the shared files.
BACKGROUND_SECONDS = 5.0
AUTHENTICATORS = frozenset({"login", "logout"})
API_PATH = "/client/api"


def setup(app: web.Application, settings: Settings, state_key: web.AppKey[ServerState]) -> None:
    ops = Ops(settings, state_key, Metrics())
    app[OPS] = ops
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", scrape.metrics)
    app.router.add_get("/status", status_page.status_html)
    app.router.add_get("/status.json", status_page.status_json)
    app.cleanup_ctx.append(_lifecycle)
    # on_cleanup runs after every cleanup context, the job runner's drain included.
    app.on_cleanup.append(_stopped)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    ops = app[OPS]
    state = ops.state(app)
    if state.engine is not None:
        ops.metrics.watch_jobs(state.engine.msid, now_utc())
    stop = asyncio.Event()
    task = asyncio.create_task(_background(ops, state, stop))
    yield
    if ops.drain.since is not None:
        LOG.info(logs.line(event="requests_drained", after_s=ops.drain.elapsed()))
    stop.set()  # not cancelled: a query cancelled halfway can spoil its pooled connection
    await task
    ops.metrics.process_exited()


async def _stopped(app: web.Application) -> None:
    drain = app[OPS].drain
    if drain.since is not None:
        LOG.info(logs.line(event="stopped", after_s=drain.elapsed()))


async def _background(ops: Ops, state: ServerState, stop: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), BACKGROUND_SECONDS)
            return
        ops.metrics.update_pool(state.db)
        try:
            await ops.metrics.poll_jobs(state.db)
        except Exception as exc:  # metrics must never take the server down; retried next time
            LOG.warning(logs.line(event="job_metrics_poll_failed", error=str(exc)[:200]))


def handle_sigterm(app: web.Application, delay_seconds: float) -> None:
    """For a server started by run_app: SIGTERM drains (see compat_api.ops.drain)."""
    ops = app[OPS]

    async def announce() -> None:
        state = ops.state(app)
        if state.engine is None:
            return
        try:
            await instances.set_draining(state.db, state.engine.msid)
        except Exception as exc:  # the drain goes on; only `stackshift status` misses it
            LOG.warning(logs.line(event="drain_not_recorded", error=str(exc)[:200]))

    drain.on_sigterm(app, ops.drain, delay_seconds, announce)


def is_probe(path: str) -> bool:
    return path in PROBES


def observe(
    request: web.Request, command: str | None, backend: str, status: int, seconds: float
) -> None:
    """Count one answered API request (the operator pages are not traffic); unknown command
    names share one label so a client cannot grow the metrics without bound."""
    ops = request.app.get(OPS)
    if ops is None or not request.path.startswith(API_PATH):
        return
    label = "-"
    if command:
        # Any CloudStack command is a bounded label; forwarded ones count under their name.
        known = command in AUTHENTICATORS or command in all_commands()
        label = command if known else "unknown"
    ops.metrics.observe(label, backend, status, seconds)


def error_fields(response: web.StreamResponse) -> dict[str, str]:
    """The error id of an unexpected failure, for the access line (the error line has it too)."""
    error_id = response.headers.get("X-Error-Id")
    return {"error_id": error_id} if error_id else {}
