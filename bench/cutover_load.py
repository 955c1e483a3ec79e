"""The moving parts of a cutover under load, shared by the drill test
(tests/migrate/test_cutover_drill.py) and bench/cutover.py.

A "legacy" server is a second `stackshift serve` process on the same database; the front
process passes through to it (`--legacy-url`). Client threads drive the front with the real
`cs` client library (listing, deploying, stopping and starting VMs, polling every job),
timing each HTTP request, while the steps are taken with the real `stackshift` CLI.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cs
import requests
from sqlalchemy import select

from compat_api.strangler import BACKEND_HEADER
from migrate import cutover, shadow_window
from migrate import cutover_steps as steps
from migrate.shadow_window import WindowRate
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import data_center, service_offering, vm_template

ROOT = Path(__file__).resolve().parent.parent
JOB_POLL_SECONDS = 0.1
# Phases named so are the time a step takes to apply and reach every instance.
SWITCHING = "switch"
# Mirror, reads, writes, back to reads, writes again, complete.
DRILL: tuple[tuple[str, str | None], ...] = (
    ("cutover", "mirror"),
    ("cutover", "reads"),
    ("cutover", "writes"),
    ("rollback", None),
    ("cutover", "writes"),
    ("cutover", "complete"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One `stackshift serve` subprocess; its log goes to a file kept for a report."""

    def __init__(
        self, url: str, key: str, legacy: Server | None = None, options: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        command = [
            sys.executable, "-m", "compat_api.cli", "serve", "--db", url,
            "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        if legacy is not None:
            command += ["--legacy-url", legacy.endpoint]
        command += options
        env = {**os.environ, "STACKSHIFT_ENCRYPTION_KEY": key}
        role = "front" if legacy else "legacy"
        with tempfile.NamedTemporaryFile(
            prefix=f"stackshift-cutover-{role}-", suffix=".log", delete=False
        ) as log:
            self.log = Path(log.name)
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/client/api"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.tail()}")
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server on {self.port} did not start: {self.tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# Every mirrored read also asks the primary twice, so fields that change between two calls
# anyway (a listed VM's state and jobstatus while the load starts and stops it) are
# measured as noise rather than taken for differences between the backends.
FRONT_OPTIONS = ("--shadow-noise-percent", "100")


def start_pair(url: str, key: str) -> tuple[Server, Server]:
    """(legacy, front): the front forwards whatever is routed to legacy."""
    legacy = Server(url, key)
    legacy.wait_ready()
    front = Server(url, key, legacy, FRONT_OPTIONS)
    try:
        front.wait_ready()
    except RuntimeError:
        legacy.stop()
        raise
    return legacy, front


@dataclass(frozen=True)
class Call:
    phase: str
    command: str
    started: float
    seconds: float
    error: str | None = None
    # Which backend answered (the front's X-Stackshift-Backend header).
    backend: str = ""


class _NotingSession(requests.Session):
    """Hands every response to `note` (cs sends prepared requests, so session response
    hooks never run)."""

    def __init__(self, note: Callable[[requests.Response], None]) -> None:
        super().__init__()
        self._note = note

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        self._note(response)
        return response


@dataclass
class Load:
    """Client threads against `endpoint`; each worker deploys a VM whenever a phase other
    than a switch begins (when `deploys` allows), then keeps listing, stopping and starting
    its VMs in turn, so VMs made on one side are operated on by the other after each switch."""

    endpoint: str
    workers: list[tuple[Credentials, bool]]
    deploy_args: dict[str, str]
    phase: str = "start"
    calls: list[Call] = field(default_factory=list)
    # VM id -> the phase during which it was deployed.
    vms: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _answered: threading.local = field(default_factory=threading.local)

    def start(self) -> None:
        for index, (who, deploys) in enumerate(self.workers):
            thread = threading.Thread(
                target=self._work, args=(who, deploys), name=f"load-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    @property
    def errors(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.error is not None]

    def _work(self, who: Credentials, deploys: bool) -> None:
        session = _NotingSession(self._note_backend)
        api = cs.CloudStack(
            endpoint=self.endpoint,
            key=who.api_key,
            secret=who.secret_key,
            timeout=60,
            session=session,
        )
        mine: list[str] = []
        deployed_in = None
        turn = 0
        while not self._stop.is_set():
            settled = not self.phase.startswith(SWITCHING)
            if not mine or (deploys and settled and self.phase != deployed_in):
                deployed_in = self.phase
                made = self._deploy(api)
                if made:
                    mine.append(made)
                continue
            vm = mine[turn % len(mine)]
            turn += 1
            self._call(api, "listVirtualMachines", id=vm)
            self._job(api, "stopVirtualMachine", id=vm)
            self._job(api, "startVirtualMachine", id=vm)
            self._call(api, "listVirtualMachines", listall="true")

    def _note_backend(self, response: requests.Response) -> None:
        self._answered.backend = response.headers.get(BACKEND_HEADER, "")

    def _call(self, api: cs.CloudStack, command: str, **params: str) -> Any:
        phase, started = self.phase, time.monotonic()
        self._answered.backend = ""
        try:
            reply = getattr(api, command)(**params)
            error = None
        except (cs.CloudStackException, OSError) as failed:
            reply, error = None, f"{command}: {failed} {getattr(failed, 'error', '')}"
        seconds, backend = time.monotonic() - started, self._answered.backend
        with self._lock:
            self.calls.append(Call(phase, command, started, seconds, error, backend))
        return reply

    def _job(self, api: cs.CloudStack, command: str, **params: str) -> dict[str, Any] | None:
        """An async command and its polling; a failed job counts as a failed request."""
        accepted = self._call(api, command, **params)
        if not accepted:
            return None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(JOB_POLL_SECONDS)
            result = self._call(api, "queryAsyncJobResult", jobid=accepted["jobid"])
            if result is None or result["jobstatus"] == 0:
                continue
            if result["jobstatus"] != 1:
                self._failed(command, f"job {accepted['jobid']}: {result.get('jobresult')}")
                return None
            return dict(accepted)
        self._failed(command, f"job {accepted['jobid']} still pending after 120 s")
        return None

    def _failed(self, command: str, error: str) -> None:
        with self._lock:
            self.calls.append(Call(self.phase, command, time.monotonic(), 0.0, error))

    def _deploy(self, api: cs.CloudStack) -> str | None:
        phase = self.phase
        done = self._job(api, "deployVirtualMachine", **self.deploy_args)
        if done is None:
            time.sleep(0.5)  # keep a failing deploy from spinning
            return None
        with self._lock:
            self.vms[str(done["id"])] = phase
        return str(done["id"])


async def cli(*argv: str, niceness: int | None = None) -> tuple[int, str]:
    """The `stackshift` program as an operator runs it (its own process, so it does not
    compete with the client threads for this one's interpreter), with what it printed.
    `niceness` overrides the priority operator commands lower themselves to (launch.py)."""
    env = dict(os.environ)
    if niceness is not None:
        env["STACKSHIFT_NICE"] = str(niceness)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "compat_api.launch", *argv,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return int(process.returncode or 0), out.decode(errors="replace")


async def wait_samples(
    db: Database, subsystem: str, minimum: int, implemented: list[str], timeout: float = 60.0
) -> WindowRate:
    """Until the current step's shadow window holds `minimum` comparisons. The mirror
    flushes its counts every few seconds, so looking every 2 s is enough and keeps this
    process from competing with its own client threads."""
    reads = steps.engine_reads(subsystem, implemented)
    async with db.engine.connect() as conn:
        at = await cutover.position(conn, subsystem)
    base = at.record.baseline if at.record is not None else {}
    deadline = time.monotonic() + timeout
    while True:
        now = await shadow_window.snapshot(db, reads)
        found = shadow_window.rate_of(shadow_window.window(now, base))
        if found.samples >= minimum or time.monotonic() > deadline:
            return found
        await asyncio.sleep(2.0)


async def deploy_args(db: Database, seed: SeedResult) -> dict[str, str]:
    """Zone, small offering and first template of the seeded cloud, as deploy parameters."""
    wanted = (
        select(data_center.c.uuid).limit(1),
        select(service_offering.c.uuid).where(
            service_offering.c.id == seed.catalog.small_offering_id
        ),
        select(vm_template.c.uuid).where(vm_template.c.id == seed.catalog.template_ids[0]),
    )
    async with db.engine.connect() as conn:
        zone, offering, template = [str((await conn.execute(q)).scalar_one()) for q in wanted]
    return {"zoneid": zone, "serviceofferingid": offering, "templateid": template}


def step_argv(url: str, action: str, step: str | None, limits: list[str]) -> list[str]:
    """The CLI arguments of one drill step; `limits` (shadow thresholds) go to cutovers."""
    argv = [action, "vm", *([step] if step else []), "--db", url, "--who", "drill"]
    extra = limits if action == "cutover" else []
    return [*argv, "--reason", f"drill: {action} {step or 'back'}", "--wait", "30", *extra]


def needs_samples(action: str, step: str | None) -> bool:
    return (
        action == "cutover" and step is not None and bool(steps.needs_samples(steps.as_step(step)))
    )


VM_READS = frozenset({"listVirtualMachines"})
VM_WRITES = frozenset({"deployVirtualMachine", "stopVirtualMachine", "startVirtualMachine"})


def served_by(calls: list[Call], phase: str, settle: float = 1.0) -> dict[str, set[str]]:
    """Per vm command, the backends that answered during `phase` once every instance had
    had `settle` seconds to pick its routes up."""
    mine = [c for c in calls if c.phase == phase and c.error is None]
    if not mine:
        return {}
    begun = min(c.started for c in mine)
    found: dict[str, set[str]] = {}
    for call in mine:
        if call.started >= begun + settle and call.command in VM_READS | VM_WRITES:
            found.setdefault(call.command, set()).add(call.backend)
    return found
