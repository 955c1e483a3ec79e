"""The shadow mirror with a scripted upstream: sampling, the bounded queue, differences found,
self-noise not reported, mutating commands never replayed, counts flushed to the database."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from compat_api.cli_shadow import diffs_text
from compat_api.dispatch import ApiRequest
from compat_api.routing import ENGINE, LEGACY, Backend, Decision, MirrorCall
from compat_api.shadow import ShadowMirror
from compat_api.shadow_report import command_rate, field_report, subsystem_rate
from compat_api.shadow_settings import ShadowSettings
from migrate import schema as own_schema
from schema_bridge.db import Database, open_database

ROOT = "listvirtualmachinesresponse"


def answer(**changes: Any) -> bytes:
    vms = [
        {"id": "vm-1", "name": "web", "state": "Running", "cpuused": "1%"},
        {"id": "vm-2", "name": "db", "state": "Stopped", "cpuused": "0%"},
    ]
    for vm in vms:
        vm.update(changes)
    return json.dumps({ROOT: {"count": 2, "virtualmachine": vms}}).encode()


class Scripted:
    """An upstream whose answers are functions of (backend, call number)."""

    def __init__(self, delay: float = 0.0, candidate_state: str | None = None) -> None:
        self.delay = delay
        self.calls: Counter[Backend] = Counter()
        self.candidate_state = candidate_state
        self._tick = itertools.count()

    async def replay(self, backend: Backend, call: MirrorCall) -> tuple[int, bytes]:
        self.calls[backend] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        # cpuused changes from one call to the next on either backend: noise.
        noise = f"{next(self._tick)}%"
        if backend == call.primary:
            return 200, answer(cpuused=noise)
        changes = {"state": self.candidate_state} if self.candidate_state else {}
        return 200, answer(cpuused=noise, **changes)


def call(
    command: str = "listVirtualMachines", percent: int = 100, shadow: bool = True
) -> MirrorCall:
    request = ApiRequest("GET", [("command", command)], {}, "127.0.0.1", "req-1")
    decision = Decision(LEGACY, shadow=shadow, shadow_percent=percent, route_id=1)
    return MirrorCall(request, command, LEGACY, 200, answer(cpuused="50%"), decision)


@pytest.fixture
async def shadow_db(db_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(own_schema.upgrade, db_url)
    db = await open_database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


def settings(**values: Any) -> ShadowSettings:
    return ShadowSettings(**{"flush_seconds": 60.0, "workers": 2, **values})


async def test_differences_are_found_and_noise_is_not(shadow_db: Database) -> None:
    upstream = Scripted(candidate_state="Destroyed")
    mirror = ShadowMirror(shadow_db, upstream, settings(noise_percent=100))
    await mirror.start()
    try:
        for _ in range(20):
            mirror.offer(call())
        await mirror.settle()
    finally:
        await mirror.stop()
    assert upstream.calls == {ENGINE: 20, LEGACY: 20}
    report = {row.field: row for row in await field_report(shadow_db, "listVirtualMachines")}
    state, cpu = report["virtualmachine[].state"], report["virtualmachine[].cpuused"]
    assert (state.samples, state.diffs, state.noise_diffs, state.different) == (20, 20, 0, True)
    assert state.example is not None
    assert state.example.primary_value == "Running"
    assert state.example.other_value == "Destroyed"
    # cpuused differs on every candidate call, and just as often between two primary calls.
    assert (cpu.rate, cpu.noise_rate, cpu.different) == (1.0, 1.0, False)
    assert not report["virtualmachine[].name"].different
    rate = await command_rate(shadow_db, "listVirtualMachines", min_samples=20)
    assert rate is not None
    assert rate.differing == ("virtualmachine[].state",)
    assert await command_rate(shadow_db, "listVirtualMachines", min_samples=21) is None
    vm = await subsystem_rate(shadow_db, "vm", min_samples=20)
    assert vm is not None
    assert (vm.samples, vm.rate) == (20, 1.0)
    assert vm.differing == ("listVirtualMachines:virtualmachine[].state",)
    assert await subsystem_rate(shadow_db, "volume", min_samples=1) is None
    text = diffs_text(await field_report(shadow_db), everything=False)
    assert "listVirtualMachines: 20 samples, 20 noise samples, 1 field(s) different" in text
    state_line = next(line for line in text.splitlines() if "virtualmachine[].state" in line)
    assert "DIFFERENT" in state_line and "'Running' (legacy) vs 'Destroyed' (engine)" in state_line
    cpu_line = next(line for line in text.splitlines() if "virtualmachine[].cpuused" in line)
    assert " noise " in cpu_line
    assert "virtualmachine[].name" not in text
    assert "virtualmachine[].name" in diffs_text(await field_report(shadow_db), everything=True)


async def test_without_noise_samples_a_noisy_field_is_reported(shadow_db: Database) -> None:
    mirror = ShadowMirror(shadow_db, Scripted(), settings(noise_percent=0))
    await mirror.start()
    for _ in range(5):
        mirror.offer(call())
    await mirror.settle()
    await mirror.stop()
    report = {row.field: row for row in await field_report(shadow_db)}
    assert report["virtualmachine[].cpuused"].different
    assert report["virtualmachine[].cpuused"].noise_samples == 0
    assert not report["virtualmachine[].state"].different


async def test_mutating_and_unshadowed_calls_are_never_replayed(shadow_db: Database) -> None:
    upstream = Scripted()
    mirror = ShadowMirror(shadow_db, upstream, settings())
    await mirror.start()
    for name in ("deployVirtualMachine", "destroyVirtualMachine", "updateZone", "login"):
        mirror.offer(call(name))
        await mirror.mirror(call(name))  # even when handed one directly
    mirror.offer(call(shadow=False))
    mirror.offer(call("listApis"))  # its engine answer includes legacy's: not compared
    await mirror.settle()
    await mirror.stop()
    assert sum(upstream.calls.values()) == 0
    assert await field_report(shadow_db) == []


async def test_sampling_follows_the_route_percentage(shadow_db: Database) -> None:
    draws = itertools.cycle([0.05, 0.35, 0.65, 0.95])
    mirror = ShadowMirror(shadow_db, Scripted(), settings(), chance=lambda: next(draws))
    for _ in range(8):
        mirror.offer(call(percent=50))
    assert mirror.queue.qsize() == 4
    for _ in range(4):
        mirror.offer(call(percent=0))
    assert mirror.queue.qsize() == 4


async def test_a_full_queue_drops_and_never_waits(shadow_db: Database) -> None:
    upstream = Scripted(delay=5.0)
    mirror = ShadowMirror(
        shadow_db, upstream, settings(queue_size=3, workers=1, timeout_seconds=0.2)
    )
    await mirror.start()
    mirror.offer(call())
    await asyncio.sleep(0.05)  # the worker is now stuck on the slow upstream
    started = time.perf_counter()
    for _ in range(50):
        mirror.offer(call())
    assert time.perf_counter() - started < 0.05
    assert (mirror.queue.qsize(), mirror.dropped) == (3, 47)
    await asyncio.sleep(0.3)
    assert mirror.failed == 1  # the slow replay was abandoned at the timeout
    await mirror.stop()


async def test_counts_survive_a_failed_flush(shadow_db: Database, tmp_path: Any) -> None:
    mirror = ShadowMirror(shadow_db, Scripted(), settings(noise_percent=0))
    await mirror.start()
    mirror.offer(call())
    await mirror.queue.join()
    broken = await open_database(str(tmp_path / "no-tables.db"))
    mirror.db = broken
    await mirror.flush()  # no tables there: kept in memory
    await broken.dispose()
    mirror.db = shadow_db
    await mirror.stop()
    (whole,) = [r for r in await field_report(shadow_db) if r.field == "*"]
    assert whole.samples == 1


async def test_stops_cleanly_whatever_the_queue_size(shadow_db: Database) -> None:
    upstream = Scripted()
    mirror = ShadowMirror(shadow_db, upstream, settings(queue_size=0, workers=3))
    await mirror.start()
    mirror.offer(call())
    assert mirror.dropped == 1
    await mirror.stop()
    assert all(task.done() for task in mirror._workers)
    assert sum(upstream.calls.values()) == 0
