#!/usr/bin/env python3
"""What the legacy passthrough costs: the same calls straight to an upstream and through
stackshift forwarding to it, in one run, with the ratios printed.

Two upstreams stand in for legacy (--upstream):
- `stackshift` (default): a real CloudStack API server, a second `stackshift serve` on its
  own seeded SQLite database (as the routing tests use for legacy), answering a signed
  listZones with its signature check, lookups and rendering, as a management server would;
- `echo`: a small aiohttp server (its own process) answering every call with a
  recorded-shape listZones body after --upstream-ms; at 0 ms it does no work at all, so
  the ratio shows stackshift's own cost per call against aiohttp's best case.
stackshift runs `serve --legacy-url` with one worker and no routes, so every call is
forwarded. wrk (Debian package `wrk`) drives both: one connection for latency (p50/p99),
then --connections for throughput. Targets: < 1 ms added at p50 and >= 90% of the direct
throughput.

Usage: python bench/passthrough.py [--seconds 10] [--connections 16] [--workers 1]
       [--upstream stackshift|echo] [--upstream-ms 0] [--db PATH_OR_URL]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from compat_api.signing import sign

ROOT = Path(__file__).resolve().parent.parent
BODY = (
    b'{"listzonesresponse":{"count":1,"zone":[{"id":"b1f3c0de-0000-4000-8000-000000000001",'
    b'"name":"legacy-zone","networktype":"Advanced","allocationstate":"Enabled",'
    b'"securitygroupsenabled":false,"dhcpprovider":"VirtualRouter","localstorageenabled":false,'
    b'"tags":[],"hasannotations":false}]}}'
)
QUERY = "command=listZones&response=json&apiKey=bench&signature=bench%3D"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_upstream(port: int, service_ms: float) -> None:
    """The stand-in legacy server (run in its own process); `service_ms` plays the time the
    real server spends on a call (0: free, which shows stackshift's own cost)."""
    import asyncio

    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if service_ms:
            await asyncio.sleep(service_ms / 1000)
        return web.Response(body=BODY, content_type="application/json", charset="UTF-8")

    app = web.Application()
    app.router.add_route("*", "/client/api", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - local
                reply.read()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def run_wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for name in ("50", "99"):
        match = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)\b", out)
        if match:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            figures[f"p{name}"] = float(match.group(1)) * scale
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures["errors"] = float(non_2xx.group(1)) if non_2xx else 0.0
    return figures


def seed_db(path: Path) -> tuple[str, str]:
    """A new seeded SQLite cloud; the root admin's api and secret keys (the first pair
    `db init` prints)."""
    out = subprocess.run(
        [sys.executable, "-m", "compat_api.cli", "db", "init", "--db", str(path), "--hosts", "1"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "STACKSHIFT_ENCRYPTION_KEY": "bench-key"},
    ).stdout
    api_key = re.search(r"api key\s*:\s*(\S+)", out)
    secret = re.search(r"secret key\s*:\s*(\S+)", out)
    if api_key is None or secret is None:
        raise SystemExit(f"db init printed no keys: {out}")
    return api_key.group(1), secret.group(1)


def prepare_db(db: str | None, workdir: Path) -> str:
    if db:
        return db
    path = workdir / "bench.db"
    seed_db(path)
    return str(path)


def start_upstream(args: argparse.Namespace, workdir: Path, port: int) -> tuple[Any, str]:
    """(the upstream process, the query every call sends)."""
    env = {**os.environ, "STACKSHIFT_ENCRYPTION_KEY": "bench-key"}
    if args.upstream == "echo":
        command = [sys.executable, __file__, "--serve-upstream", str(port),
                   "--upstream-ms", str(args.upstream_ms)]  # fmt: skip
        return subprocess.Popen(command, cwd=ROOT, env=env), QUERY
    api_key, secret = seed_db(workdir / "legacy.db")
    pairs = {"command": "listZones", "response": "json", "apiKey": api_key}
    pairs["signature"] = sign(pairs.items(), secret)
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs.items())
    log = (workdir / "legacy.log").open("wb")
    command = [sys.executable, "-m", "compat_api.cli", "serve", "--db",
               str(workdir / "legacy.db"), "--port", str(port), "--workers", "1"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), query


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--db", help="database for stackshift (default: a new SQLite file)")
    parser.add_argument("--workers", type=int, default=1, help="stackshift worker processes")
    parser.add_argument(
        "--upstream-ms", type=float, default=0.0, help="time the upstream spends per call (0)"
    )
    parser.add_argument(
        "--upstream",
        choices=("stackshift", "echo"),
        default="stackshift",
        help="the stand-in legacy server: a real API server (default) or a canned answer",
    )
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream, args.upstream_ms)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="stackshift-passthrough-"))
    db = prepare_db(args.db, workdir)
    up_port, ss_port = free_port(), free_port()
    env = {**os.environ, "STACKSHIFT_ENCRYPTION_KEY": "bench-key"}
    upstream, query = start_upstream(args, workdir, up_port)
    legacy_url = f"http://127.0.0.1:{up_port}/client/api"
    server_log = (workdir / "stackshift.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "compat_api.cli", "serve", "--db", db, "--port", str(ss_port),
         "--workers", str(args.workers), "--legacy-url", legacy_url],
        cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        direct = f"{legacy_url}?{query}"
        through = f"http://127.0.0.1:{ss_port}/client/api?{query}"
        wait_ready(direct)
        wait_ready(through)
        results = {}
        for name, url in (("direct", direct), ("through", through)):
            run_wrk(url, 2, args.connections)  # warm up pools and caches
            latency = run_wrk(url, args.seconds, 1)
            load = run_wrk(url, args.seconds, args.connections)
            results[name] = (latency, load)
        report(results, args)
    finally:
        for process in (server, upstream):
            process.terminate()
            process.wait(timeout=30)
    return 0


def report(results: dict[str, tuple[dict[str, float], dict[str, float]]], args: object) -> None:
    print(
        f"load average: {os.getloadavg()[0]:.2f}   cores: {os.cpu_count()}   "
        f"stackshift workers: {getattr(args, 'workers', 1)}   upstream: {_upstream(args)}"
    )
    for name, (latency, load) in results.items():
        print(
            f"{name:8} p50 {latency.get('p50', 0):6.3f} ms  p99 {latency.get('p99', 0):6.3f} ms "
            f"(1 connection)   {load['rps']:8.0f} req/s "
            f"(wrk -c{getattr(args, 'connections', 0)})  non-2xx {latency['errors'] + load['errors']:.0f}"
        )
    (d_lat, d_load), (t_lat, t_load) = results["direct"], results["through"]
    added = t_lat.get("p50", 0) - d_lat.get("p50", 0)
    ratio = t_load["rps"] / d_load["rps"] if d_load["rps"] else 0.0
    print(
        f"added p50 {added:.3f} ms (target < 1 ms)   throughput through/direct {ratio:.0%} "
        "(target >= 90%)"
    )


def _upstream(args: object) -> str:
    if getattr(args, "upstream", "echo") == "stackshift":
        return "a stackshift server on its own SQLite database (signed listZones)"
    return f"canned answer after {getattr(args, 'upstream_ms', 0.0)} ms"


if __name__ == "__main__":
    sys.exit(main())
