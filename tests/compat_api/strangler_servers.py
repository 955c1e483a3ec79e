"""Real `stackshift serve` processes for strangler tests: a legacy stand-in and fronts."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import TEST_ENCRYPTION_KEY
from tests.shared_facts import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(url: str, port: int, legacy_port: int | None, log_dir: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "compat_api.cli", "serve", "--db", url, "--port", str(port),
               "--workers", "1"]  # fmt: skip
    if legacy_port is not None:
        command += ["--legacy-url", f"http://127.0.0.1:{legacy_port}/client/api"]
    env = {**os.environ, "STACKSHIFT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY}
    log = (log_dir / f"server-{port}.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"server on {port} did not start")


@contextmanager
def servers(url: str, fronts: int) -> Iterator[tuple[int, list[int]]]:
    """A legacy stand-in (plain stackshift, no legacy URL) and `fronts` instances that
    forward to it, all on database `url`; (legacy port, front ports)."""
    log_dir = Path(tempfile.mkdtemp(prefix="stackshift-strangler-"))
    legacy_port = free_port()
    ports = [free_port() for _ in range(fronts)]
    processes = [start(url, legacy_port, None, log_dir)]
    processes += [start(url, port, legacy_port, log_dir) for port in ports]
    try:
        yield legacy_port, ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def logs_of(port: int) -> str:
    found = sorted(Path(tempfile.gettempdir()).glob(f"stackshift-strangler-*/server-{port}.log"))
    return found[-1].read_text(errors="replace")[-4000:] if found else ""
