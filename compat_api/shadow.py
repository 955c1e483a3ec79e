"""Shadow comparison: a read-only call served by one backend is replayed on the other in the
background, both answers are normalised and compared, and differences are counted.

The request path only calls `ShadowMirror.offer`, which never waits: a full queue drops the
call (and counts it). A few worker tasks replay calls; counts are added up in memory and
flushed to our own tables every few seconds, not written once per request. Mutating
commands are never replayed, whatever a route says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from compat_api import logs
from compat_api.routing import Backend, MirrorCall, is_read_only
from compat_api.shadow_normalise import normalise
from compat_api.shadow_settings import ShadowSettings
from compat_api.shadow_stats import CANDIDATE, NOISE, Comparison, Kind, Tally, compare
from schema_bridge import shadow_diffs
from schema_bridge.db import Database

if TYPE_CHECKING:
    from compat_api.ops.metrics_shadow import ShadowMetrics

LOG = logging.getLogger("stackshift.shadow")
# The engine's listApis merges legacy's own list into its answer: the two are not independent
# answers to compare.
NOT_COMPARED = frozenset({"listApis"})
Answer = tuple[int, bytes]


class Upstream(Protocol):
    """Runs a call again on a backend and returns its HTTP status and body."""

    async def replay(self, backend: Backend, call: MirrorCall) -> Answer: ...


class ShadowMirror:
    """One per process: offer() from the request path, start()/stop() from the app."""

    def __init__(
        self,
        db: Database,
        upstream: Upstream,
        settings: ShadowSettings,
        metrics: ShadowMetrics | None = None,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.upstream = upstream
        self.settings = settings
        self.metrics = metrics
        self._chance = chance
        # Room for one stop marker per worker beyond the calls offer() lets in.
        self.queue: asyncio.Queue[MirrorCall | None] = asyncio.Queue(
            max(settings.queue_size, 0) + max(settings.workers, 1)
        )
        self.tally = Tally(settings.examples_kept)
        self.dropped = 0
        self.failed = 0
        self._workers: list[asyncio.Task[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def offer(self, call: MirrorCall) -> None:
        """Queue a served call for mirroring when its route samples it; never waits."""
        decision = call.decision
        if not decision.shadow or not is_read_only(call.command) or call.command in NOT_COMPARED:
            return
        if self._chance() * 100 >= decision.shadow_percent:
            return
        if self.queue.qsize() < self.settings.queue_size:
            self.queue.put_nowait(call)
            return
        self.dropped += 1
        if self.metrics:
            self.metrics.dropped.inc()

    async def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._work(), name=f"shadow-worker-{n}")
            for n in range(max(self.settings.workers, 1))
        ]
        self._flusher = asyncio.create_task(self._flush_loop(), name="shadow-flush")

    async def stop(self) -> None:
        """Abandon queued calls, let replays in flight finish (bounded), flush the counts."""
        while not self.queue.empty():
            self.queue.get_nowait()
            self.queue.task_done()
        for _ in self._workers:
            self.queue.put_nowait(None)
        if self._workers:
            _done, late = await asyncio.wait(self._workers, timeout=self.settings.timeout_seconds)
            for task in late:
                task.cancel()
        self._stop.set()
        if self._flusher is not None:
            await self._flusher
        await self.flush()

    async def settle(self) -> None:
        """Wait until every queued call has been compared, then flush (for tests and tools)."""
        await self.queue.join()
        await self.flush()

    async def flush(self) -> None:
        counts, examples = self.tally.take()
        if not counts:
            return
        rows = [
            shadow_diffs.FieldRow(command, name, c.samples, c.diffs, c.noise_samples, c.noise_diffs)
            for (command, name), c in counts.items()
        ]
        try:
            await shadow_diffs.add(self.db, rows, examples, self.settings.examples_kept)
        except Exception as exc:  # counts wait for the next flush; examples are expendable
            self.tally.give_back(counts)
            LOG.warning(logs.line(event="shadow_flush_failed", error=str(exc)[:200]))

    async def _flush_loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.flush_seconds)
            await self.flush()

    async def _work(self) -> None:
        while True:
            call = await self.queue.get()
            try:
                if call is None:
                    return
                await self.mirror(call)
            except Exception as exc:  # one bad call must not stop the mirror
                LOG.warning(logs.line(event="shadow_failed", error=str(exc)[:200]))
            finally:
                self.queue.task_done()

    async def mirror(self, call: MirrorCall) -> None:
        """Replay one call on the other backend (and maybe the primary again), compare."""
        # Defence in depth: the route decision already refuses, but a mutating command must
        # never run twice whatever produced this call.
        if not is_read_only(call.command):
            return
        candidate = await self._replay(call.decision.other, call)
        if candidate is None:
            return
        again = None
        if self._chance() * 100 < self.settings.noise_percent:
            again = await self._replay(call.primary, call)
        ignore = call.decision.ignore_fields
        primary = (call.status, call.body)
        found = await asyncio.to_thread(_comparisons, primary, candidate, again, ignore)
        self._count(call, CANDIDATE, found[0])
        if found[1] is not None:
            self._count(call, NOISE, found[1])

    async def _replay(self, backend: Backend, call: MirrorCall) -> Answer | None:
        try:
            return await asyncio.wait_for(
                self.upstream.replay(backend, call), self.settings.timeout_seconds
            )
        except Exception as exc:
            self.failed += 1
            if self.metrics:
                self.metrics.failures.labels(backend).inc()
            LOG.info(
                logs.line(
                    event="shadow_replay_failed",
                    command=call.command,
                    backend=backend,
                    error=str(exc)[:200] or type(exc).__name__,
                )
            )
            return None

    def _count(self, call: MirrorCall, kind: Kind, comparison: Comparison) -> None:
        self.tally.record(call.command, comparison, kind, call.primary)
        if self.metrics:
            self.metrics.samples.labels(call.command, kind).inc()
            if comparison.differs:
                self.metrics.differences.labels(call.command, kind).inc()


def _comparisons(
    primary: Answer, candidate: Answer, again: Answer | None, ignore: frozenset[str]
) -> tuple[Comparison, Comparison | None]:
    """Runs off the event loop: a big list answer takes a while to normalise."""
    first = normalise(*primary, ignore)
    found = compare(first, normalise(*candidate, ignore))
    noise = compare(first, normalise(*again, ignore)) if again is not None else None
    return found, noise
