"""A rolling restart of two stackshift instances behind haproxy under continuous load loses
nothing: no failed request, and every start/stop job submitted meanwhile completes exactly
once (MariaDB; haproxy from Debian's packages, installed by scripts/bootstrap).

Each instance gets SIGTERM in turn: it answers /readyz with 503 at once, haproxy's health
check takes it out of rotation, it keeps serving for --drain-delay, then stops listening,
finishes the requests and jobs in flight and exits 0; it is started again and must be back in
rotation before the other one goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from migrate import schema as own_schema
from schema_bridge.capacity import CPU, MEMORY
from schema_bridge.db import Database
from schema_bridge.job_queue import ENGINE_DISPATCHER
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import async_job, event, op_host_capacity, vm_instance
from tests.compat_api.conftest import db_url_of
from tests.compat_api.ops import servers
from tests.compat_api.ops.crashed_job import stopped_vm
from tests.compat_api.test_cli import free_port

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

VMS = 4
READERS = 3
SERVER_OPTIONS = (
    "--workers", "2",
    # Longer than haproxy needs to see the 503s (fall 2 x inter 250ms, plus slow checks).
    "--drain-delay", "3.0",
    # Jobs that take a while, so some are in flight when an instance is told to stop.
    "--simulator-delay", "start=0.3",
    "--simulator-delay", "stop=0.3",
    "--job-dead-after", "4",
)  # fmt: skip
HAPROXY_CONFIG = """
global
    stats socket {socket} mode 600 level admin
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # Generous: on a loaded CI machine a slow check must not take a healthy server out.
    timeout check 5s
    retries 3
    option redispatch
    # One request per server connection: a stopping server never has an idle pooled
    # connection that the balancer could pick just as it closes.
    option http-server-close
frontend api
    bind 127.0.0.1:{port}
    default_backend stackshift
backend stackshift
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 250ms fastinter 250ms downinter 250ms fall 2 rise 2
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check
"""


@pytest.fixture
def backend() -> str:
    return "mariadb"  # several processes on one database: the production setting


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if found is None:
        message = "haproxy is not installed (scripts/bootstrap installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Balancer:
    proc: subprocess.Popen[bytes]
    port: int
    socket: Path

    def states(self) -> dict[str, str]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "stackshift"}

    async def wait(self, name: str, wanted: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.states().get(name) != wanted:
            assert time.monotonic() < deadline, f"{name} not {wanted}: {self.states()}"
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def haproxy(tmp: Path, a: int, b: int) -> Iterator[Balancer]:
    port, sock = free_port(), tmp / "haproxy.sock"
    config = tmp / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(socket=sock, port=port, a=a, b=b))
    binary = haproxy_binary()
    check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, check=False)
    assert check.returncode == 0, check.stderr
    with (tmp / "haproxy.log").open("wb") as log:
        proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "haproxy did not start"
            time.sleep(0.05)
        yield Balancer(proc, port, sock)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Tally:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)  # jobid -> command
    results: dict[str, int] = field(default_factory=dict)  # jobid -> final jobstatus

    async def call(
        self,
        session: aiohttp.ClientSession,
        base: str,
        who: Credentials,
        command: str,
        **params: Any,
    ) -> dict[str, Any] | None:
        self.sent += 1
        url = f"{base}/client/api?{servers.signed_query(who, command, **params)}"
        try:
            async with session.get(url) as response:
                text = await response.text()
                if response.status != 200:
                    self.failures.append(f"{command}: HTTP {response.status} {text[:200]}")
                    return None
                body: dict[str, Any] = await response.json(content_type=None)
                return body
        except (aiohttp.ClientError, TimeoutError) as error:
            self.failures.append(f"{command}: {type(error).__name__} {error}")
            return None


async def reader(
    tally: Tally, session: aiohttp.ClientSession, base: str, seed: SeedResult, stop: asyncio.Event
) -> None:
    commands = ("listZones", "listVirtualMachines", "listServiceOfferings", "listAsyncJobs")
    turn = 0
    while not stop.is_set():
        await tally.call(session, base, seed.admin, commands[turn % len(commands)])
        turn += 1


async def run_job(
    tally: Tally, session: aiohttp.ClientSession, base: str, who: Credentials, command: str, vm: str
) -> None:
    extra = {"forced": "true"} if command == "stopVirtualMachine" else {}
    accepted = await tally.call(session, base, who, command, id=vm, **extra)
    if accepted is None:
        return
    jobid = accepted[f"{command.lower()}response"]["jobid"]
    tally.jobs[jobid] = command
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        body = await tally.call(session, base, who, "queryAsyncJobResult", jobid=jobid)
        status = body["queryasyncjobresultresponse"]["jobstatus"] if body else 0
        if status != 0:
            tally.results[jobid] = int(status)
            return
    tally.failures.append(f"job {jobid} ({command}) still pending after 60 s")


async def cycler(
    tally: Tally,
    session: aiohttp.ClientSession,
    base: str,
    who: Credentials,
    vm: str,
    stop: asyncio.Event,
) -> None:
    """Start and stop one VM until told to stop; always ends stopped."""
    while not stop.is_set():
        await run_job(tally, session, base, who, "startVirtualMachine", vm)
        await run_job(tally, session, base, who, "stopVirtualMachine", vm)


@contextlib.asynccontextmanager
async def load(tally: Tally, base: str, seed: SeedResult, vms: list[str]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = [
            asyncio.create_task(reader(tally, session, base, seed, stop)) for _ in range(READERS)
        ]
        tasks += [
            asyncio.create_task(cycler(tally, session, base, seed.user, vm, stop)) for vm in vms
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)


async def capacity(db: Database) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        query = (
            select(
                op_host_capacity.c.host_id,
                op_host_capacity.c.capacity_type,
                op_host_capacity.c.used_capacity,
            )
            .where(op_host_capacity.c.capacity_type.in_((CPU, MEMORY)))
            .order_by(op_host_capacity.c.id)
        )
        return [tuple(r) for r in await conn.execute(query)]


async def restart(
    name: str, old: servers.Server, lb: Balancer, url: str, log: Path
) -> tuple[int, servers.Server]:
    began = time.monotonic()
    code = await asyncio.to_thread(old.terminate, 90)
    stopped = time.monotonic()
    await lb.wait(name, "DOWN")
    new = servers.start(url, old.port, log, *SERVER_OPTIONS)
    await asyncio.to_thread(servers.wait_ready, new)
    await lb.wait(name, "UP")
    back = time.monotonic() - stopped
    print(
        f"\n{name}: drained and exited in {stopped - began:.1f} s, back in rotation {back:.1f} s later"
    )
    return code, new


async def check_jobs_ran_exactly_once(db: Database, tally: Tally, vm_ids: list[int]) -> None:
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(async_job.c.uuid, async_job.c.job_status).where(
                    async_job.c.job_dispatcher == ENGINE_DISPATCHER
                )
            )
        ).all()
        completed = await conn.scalar(
            select(func.count()).where(
                event.c.resource_id.in_(vm_ids),
                event.c.type.in_(("VM.START", "VM.STOP")),
                event.c.state == "Completed",
            )
        )
        started = await conn.scalar(
            select(func.count()).where(
                event.c.resource_id.in_(vm_ids),
                event.c.type.in_(("VM.START", "VM.STOP")),
                event.c.state == "Started",
            )
        )
        states = (
            await conn.execute(
                select(vm_instance.c.state, vm_instance.c.host_id).where(
                    vm_instance.c.id.in_(vm_ids)
                )
            )
        ).all()
    assert {r.uuid for r in rows} == set(tally.jobs)  # none lost, none extra
    assert {r.job_status for r in rows} == {1} and set(tally.results.values()) == {1}
    assert set(tally.results) == set(tally.jobs)
    # Each job began once and completed once: nothing ran twice after a hand-over.
    assert completed == started == len(tally.jobs)
    assert [tuple(s) for s in states] == [("Stopped", None)] * len(vm_ids)


async def roll(url: str, seed: SeedResult, vms: list[str], tmp: Path, tally: Tally) -> list[int]:
    """Two instances behind haproxy under load; restart a, then b. The exit codes: the two
    restarts', then the final stops'."""
    logs = {name: tmp / f"{name}.log" for name in ("a", "b")}
    ports = {name: free_port() for name in ("a", "b")}
    running = {n: servers.start(url, ports[n], logs[n], *SERVER_OPTIONS) for n in ("a", "b")}
    exits: list[int] = []
    try:
        for server in running.values():
            await asyncio.to_thread(servers.wait_ready, server)
        with haproxy(tmp, ports["a"], ports["b"]) as lb:
            await lb.wait("a", "UP")
            await lb.wait("b", "UP")
            async with load(tally, f"http://127.0.0.1:{lb.port}", seed, vms):
                await asyncio.sleep(1.5)
                for name in ("a", "b"):
                    code, running[name] = await restart(name, running[name], lb, url, logs[name])
                    exits.append(code)
                    await asyncio.sleep(1.0)
    finally:
        for server in running.values():
            exits.append(await asyncio.to_thread(server.terminate, 90))
            server.kill()
    for log in logs.values():
        text = log.read_text()
        assert "Traceback" not in text and "event=drain" in text
    return exits


def summary(tally: Tally, seconds: float) -> str:
    starts = sum(1 for c in tally.jobs.values() if c.startswith("start"))
    return (
        f"rolling restart: {tally.sent} requests, {len(tally.failures)} failed, "
        f"{len(tally.jobs)} jobs ({starts} start, {len(tally.jobs) - starts} stop), {seconds:.1f} s"
    )


async def test_rolling_restart_loses_nothing(
    seeded_db: tuple[Database, SeedResult], tmp_path: Path
) -> None:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    vms = [await stopped_vm(db, seed) for _ in range(VMS)]
    before = await capacity(db)
    tally = Tally()
    started = time.monotonic()
    exits = await roll(url, seed, [vm.uuid for vm in vms], tmp_path, tally)
    print("\n" + summary(tally, time.monotonic() - started))
    assert tally.failures == [], tally.failures[:5]
    assert exits == [0, 0, 0, 0]
    assert tally.sent > 200 and len(tally.jobs) >= 2 * VMS
    await check_jobs_ran_exactly_once(db, tally, [vm.id for vm in vms])
    assert await capacity(db) == before
