"""Prometheus metrics: requests, errors and job durations counted in-process, the rest
(queue, stuck jobs, routes, database) read when scraped.

Several worker processes share one port (compat_api/server.py), and a scrape reaches any one
of them, so counters use prometheus-client's multiprocess mode: the parent sets
PROMETHEUS_MULTIPROC_DIR before forking (`multiprocess_dir`) and every scrape sums all
workers' files. Without it (tests, embedded apps) each application keeps its own registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

from compat_api.ops.metrics_shadow import ShadowMetrics
from schema_bridge import job_stats
from schema_bridge.db import Database
from schema_bridge.job_queue import SUCCEEDED

ENV = "PROMETHEUS_MULTIPROC_DIR"
JOB_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# Completion times are whole seconds and commits land after them: look this far back again
# and skip the ids already counted.
LOOKBACK = timedelta(seconds=10)


def multiprocess() -> bool:
    return bool(os.environ.get(ENV))


@contextlib.contextmanager
def multiprocess_dir() -> Iterator[str]:
    """Set up (and finally remove) the directory the forked workers write metrics to.

    An operator's PROMETHEUS_MULTIPROC_DIR is emptied first, since files of an earlier run
    would be summed into this one's (so two instances on one host need two directories);
    otherwise a private temporary directory is used.
    """
    given = os.environ.get(ENV)
    path = given or tempfile.mkdtemp(prefix="stackshift-metrics-")
    if given:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
    os.environ[ENV] = path
    # prometheus-client picks its value storage when first imported, which happened before
    # this function ran (the CLI imports the app); pick again now that the directory is set.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)


class Metrics:
    """This process's metrics; in multiprocess mode they write to the shared directory."""

    def __init__(self) -> None:
        self.shared = multiprocess()
        own = None if self.shared else CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stackshift_api_requests",
            "API requests answered, by command, backend and HTTP status",
            ["command", "backend", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "stackshift_api_request_seconds",
            "Time to answer an API request, by command, backend and HTTP status",
            ["command", "backend", "status"],
            registry=own,
        )
        self.errors = Counter(
            "stackshift_api_errors",
            "API error answers, by command and CloudStack errorcode",
            ["command", "errorcode"],
            registry=own,
        )
        self.job_seconds = Histogram(
            "stackshift_job_duration_seconds",
            "Engine jobs finished by this server, submission to completion, by command",
            ["command", "result"],
            buckets=JOB_BUCKETS,
            registry=own,
        )
        self.pool_checked_out = Gauge(
            "stackshift_db_pool_checked_out",
            "Database connections in use (all live workers)",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.pool_size = Gauge(
            "stackshift_db_pool_size",
            "Database connections the pools keep open (all live workers)",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.shadow = ShadowMetrics(own)
        self.own = own
        self._watch: CompletionWatch | None = None

    def observe(self, command: str, backend: str, status: int, seconds: float) -> None:
        self.requests.labels(command, backend, str(status)).inc()
        self.latency.labels(command, backend, str(status)).observe(seconds)
        if status >= 400:
            # CloudStack answers an error with the errorcode as the HTTP status.
            self.errors.labels(command, str(status)).inc()

    def update_pool(self, db: Database) -> None:
        pool = db.engine.pool
        if isinstance(pool, QueuePool):
            self.pool_checked_out.set(pool.checkedout())
            self.pool_size.set(pool.size() + max(pool.overflow(), 0))

    def families(self) -> list[Metric]:
        """The counted metrics, summed over every worker in multiprocess mode."""
        if self.shared:
            collector = MultiProcessCollector(None)  # type: ignore[no-untyped-call]
            return list(collector.collect())  # type: ignore[no-untyped-call]
        assert self.own is not None
        return list(self.own.collect())

    def registry_with(self, extra: Collector) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        if self.shared:
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            assert self.own is not None
            for collector in (self.requests, self.latency, self.errors, self.job_seconds):
                registry.register(collector)
            registry.register(self.pool_checked_out)
            registry.register(self.pool_size)
            for collector in self.shadow.collectors():
                registry.register(collector)
        registry.register(extra)
        return registry

    def watch_jobs(self, msid: int, since: datetime) -> None:
        self._watch = CompletionWatch(self, msid, since)

    async def poll_jobs(self, db: Database) -> None:
        if self._watch is not None:
            await self._watch.poll(db)

    def process_exited(self) -> None:
        """Drop this worker's live gauges (pool use) from the shared directory."""
        if self.shared:
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class CompletionWatch:
    """Counts the durations of jobs this server's runner finished, each exactly once: every
    process counts only its own (job_complete_msid), so the sum over processes is right."""

    def __init__(self, metrics: Metrics, msid: int, since: datetime) -> None:
        self.metrics = metrics
        self.msid = msid
        self.since = since
        self.seen: dict[int, datetime] = {}

    async def poll(self, db: Database) -> None:
        async with db.reader.connect() as conn:
            done = await job_stats.completed_by(conn, self.msid, self.since - LOOKBACK)
        for job in done:
            if job.id in self.seen:
                continue
            self.seen[job.id] = job.removed
            result = "succeeded" if job.status == SUCCEEDED else "failed"
            seconds = max((job.removed - job.created).total_seconds(), 0.0)
            self.metrics.job_seconds.labels(job.command, result).observe(seconds)
        if done:
            self.since = max(self.since, *(j.removed for j in done))
        horizon = self.since - LOOKBACK
        self.seen = {i: when for i, when in self.seen.items() if when >= horizon}
