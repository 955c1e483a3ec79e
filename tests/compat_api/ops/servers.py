"""stackshift servers as operators run them (`python -m compat_api.cli serve` subprocesses)
and a small signed HTTP client for them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from compat_api.signing import sign
from schema_bridge.seed_identity import Credentials
from tests.conftest import TEST_ENCRYPTION_KEY

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start(db_url: str, port: int, log: Path, *options: str) -> Server:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compat_api.cli",
                "serve",
                "--db",
                db_url,
                "--port",
                str(port),
                *options,
            ],
            cwd=ROOT,
            env={**os.environ, "STACKSHIFT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY},
            stdout=out,
            stderr=out,
        )
    return Server(proc, port, log)


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http only
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(
                f"server exited {server.proc.returncode}: {server.log.read_text()}"
            )
        try:
            if get(f"{server.base}/readyz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not ready: {server.log.read_text()}")


def signed_query(who: Credentials, command: str, **params: Any) -> str:
    pairs = {"command": command, "response": "json", "apiKey": who.api_key}
    pairs.update({k: str(v) for k, v in params.items()})
    pairs["signature"] = sign(pairs.items(), who.secret_key)
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs.items())


def call(base: str, who: Credentials, command: str, **params: Any) -> tuple[int, dict[str, Any]]:
    status, body = get(f"{base}/client/api?{signed_query(who, command, **params)}")
    return status, json.loads(body)


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_api.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
