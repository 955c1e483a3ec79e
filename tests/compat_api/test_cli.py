"""The `stackshift` command line as an operator runs it: db init, serve, workers, refusals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from compat_api.signing import sign
from migrate.schema import sync_url

ROOT = Path(__file__).resolve().parents[2]


def stackshift(
    *args: str, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compat_api.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keys(output: str) -> tuple[str, str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "root admin" in line)
    return lines[start + 1].split(":", 1)[1].strip(), lines[start + 2].split(":", 1)[1].strip()


def test_db_init_then_refuses_a_second_seed(db_url: str) -> None:
    first = stackshift("db", "init", "--db", db_url, "--hosts", "2")
    assert first.returncode == 0, first.stderr
    assert "admin / password" in first.stdout
    second = stackshift("db", "init", "--db", db_url)
    assert second.returncode != 0
    assert "already holds a CloudStack schema" in second.stdout + second.stderr


def test_serve_refuses_an_unsupported_version(db_url: str) -> None:
    assert stackshift("db", "init", "--db", db_url, "--hosts", "1").returncode == 0
    engine = create_engine(sync_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM version WHERE version > '4.17.2.0'"))
    engine.dispose()
    result = stackshift("serve", "--db", db_url, "--port", str(free_port()))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "\n" not in message and "4.17.2.0" in message and "4.18" in message


def test_serve_refuses_a_database_that_is_not_cloudstack(tmp_path: Path) -> None:
    result = stackshift("serve", "--db", str(tmp_path / "empty.db"), "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


@pytest.mark.mariadb
def test_serve_with_two_workers_on_one_port(mariadb_server: str) -> None:
    url = f"{mariadb_server}/ss_test_cli_workers"
    stackshift("db", "init", "--db", url, "--hosts", "1", env={"STACKSHIFT_ENCRYPTION_KEY": "k"})
    try:
        init = stackshift("db", "init", "--db", url)  # already there: keys come from the first run
        assert init.returncode != 0
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compat_api.cli",
                "serve",
                "--db",
                url,
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env={**os.environ, "STACKSHIFT_ENCRYPTION_KEY": "k"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for(port)
            children = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            assert len(children) == 2
            statuses = [_status(port, "listCapabilities") for _ in range(40)]
            assert set(statuses) == {401}  # unsigned: refused by whichever worker answers
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=40) == 0
    finally:
        import asyncio

        from schema_bridge.db import drop_database

        asyncio.run(drop_database(url))


def _status(port: int, command: str) -> int:
    pairs = {"command": command, "response": "json", "apiKey": "x"}
    pairs["signature"] = sign(pairs.items(), "y")
    query = "&".join(f"{k}={v}" for k, v in pairs.items()).replace("+", "%2B").replace("=", "=", 1)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/client/api?{query}", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not start")
