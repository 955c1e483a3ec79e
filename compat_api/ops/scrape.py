"""GET /metrics: the counted metrics of every worker plus gauges read at scrape time.

Queue, stuck jobs and live instances come from the database and are the same whichever
process or instance is scraped (cluster-wide); readiness, draining and the route table are
this process's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from compat_api import logs
from compat_api.ops import health
from compat_api.ops.routing import RouteRow
from compat_api.ops.runtime import OPS
from compat_api.ops.snapshot import Health, JobPicture

LOG = logging.getLogger("stackshift.ops")


class Families(Collector):
    """Metric families computed before the (synchronous) collection."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    if value is not None:
        family.add_metric([], value)
    return family


def health_families(verdict: Health) -> list[Metric]:
    found: list[Metric] = [
        _gauge("stackshift_ready", "1 when this process should get traffic", verdict.ready),
        _gauge("stackshift_draining", "1 while this process drains", verdict.draining),
        _gauge("stackshift_database_up", "1 when the database answers", verdict.database.ok),
        _gauge(
            "stackshift_database_latency_seconds",
            "Time a trivial query took",
            None if verdict.database.latency_ms is None else verdict.database.latency_ms / 1000,
        ),
    ]
    if verdict.legacy is not None:
        found.append(
            _gauge("stackshift_legacy_up", "1 when the legacy server answers", verdict.legacy.ok)
        )
    return found


def job_families(picture: JobPicture) -> list[Metric]:
    pending = GaugeMetricFamily(
        "stackshift_jobs_pending", "Pending engine jobs (cluster-wide)", labels=["command"]
    )
    oldest = GaugeMetricFamily(
        "stackshift_jobs_oldest_pending_seconds",
        "Age of the oldest pending engine job (cluster-wide)",
        labels=["command"],
    )
    for row in picture.backlog:
        pending.add_metric([row.command], row.pending)
        oldest.add_metric([row.command], row.oldest_seconds)
    instances = GaugeMetricFamily(
        "stackshift_instances", "Registered stackshift processes", labels=["state"]
    )
    for state in ("alive", "draining", "dead"):
        instances.add_metric(
            [state], sum(_state(i.alive, i.draining) == state for i in picture.instances)
        )
    return [
        pending,
        oldest,
        _gauge("stackshift_jobs_backlog", "Pending engine jobs, all commands", picture.pending),
        _gauge("stackshift_jobs_stuck", "Pending engine jobs judged stuck", len(picture.stuck)),
        instances,
    ]


def _state(alive: bool, draining: bool) -> str:
    if not alive:
        return "dead"
    return "draining" if draining else "alive"


def route_families(routes: list[RouteRow]) -> list[Metric]:
    family = GaugeMetricFamily(
        "stackshift_route_commands",
        "Commands per subsystem and the backend answering them",
        labels=["subsystem", "backend"],
    )
    for row in routes:
        family.add_metric([row.subsystem, row.backend], row.commands)
    return [family]


async def metrics(request: web.Request) -> web.Response:
    ops = request.app[OPS]
    state = ops.state(request.app)
    ops.metrics.update_pool(state.db)
    try:
        await ops.metrics.poll_jobs(state.db)
    except Exception as exc:  # a scrape still answers; the next poll catches up
        LOG.warning(logs.line(event="job_metrics_poll_failed", error=str(exc)[:200]))
    verdict, picture = await health.assess(
        state.db, ops.drain.draining, ops.settings.legacy_url, ops.rules
    )
    families = [*health_families(verdict), *route_families(ops.routes(request.app))]
    if picture is not None:
        families += job_families(picture)
    registry = ops.metrics.registry_with(Families(families))
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
