#!/usr/bin/env python3
"""VM deployment throughput through the HTTP API, on MariaDB with Simulator hosts.

Seeds a cloud (optionally with --existing VMs already in the database), starts
`stackshift serve` with one worker per core, then deploys --vms VMs with --concurrency
clients that sign each request and poll queryAsyncJobResult like a real client, until every
VM is Running. Prints VMs/minute, job latency p50/p99 and the server's peak RSS.

Usage: python -m bench.deploy [--vms 1000] [--concurrency 50] [--existing 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.api_reads import free_port, seed_vms, wait_ready
from compat_api.signing import sign
from migrate import schema as own_schema
from schema_bridge.db import create_database_if_missing, drop_database, open_database
from schema_bridge.seed import SeedResult, init_database

ROOT = Path(__file__).resolve().parent.parent
SERVER = "mysql://root@127.0.0.1:3306"
KEY = "bench-key"
FIRST_FAILURE: list[str] = []


async def build(url: str, existing: int, hosts: int, spare: int) -> SeedResult:
    await drop_database(url)
    await create_database_if_missing(url)
    db = await open_database(url)
    try:
        seed = await init_database(db, hosts=hosts, encryption_key=KEY)
        if existing:
            started = time.perf_counter()
            await seed_vms(db, seed, existing, spare)
            print(f"seeded {existing} existing VMs in {time.perf_counter() - started:.1f} s")
    finally:
        await db.dispose()
    own_schema.upgrade(url)
    return seed


class Client:
    def __init__(self, session: aiohttp.ClientSession, port: int, key: str, secret: str) -> None:
        self.session, self.url, self.key, self.secret = (
            session,
            f"http://127.0.0.1:{port}/client/api",
            key,
            secret,
        )

    async def call(self, command: str, **params: str) -> Any:
        expires = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S+0000")
        pairs = {
            "command": command,
            "response": "json",
            "apiKey": self.key,
            "signatureVersion": "3",
            "expires": expires,
            **params,
        }
        pairs["signature"] = sign(pairs.items(), self.secret)
        async with self.session.post(self.url, data=pairs) as response:
            return await response.json(content_type=None)


async def deploy_one(client: Client, ids: dict[str, str], poll: float) -> tuple[float, bool]:
    started = time.perf_counter()
    accepted = await client.call("deployVirtualMachine", **ids)
    jobid = accepted["deployvirtualmachineresponse"]["jobid"]
    while True:
        await asyncio.sleep(poll)
        result = await client.call("queryAsyncJobResult", jobid=jobid)
        body = result["queryasyncjobresultresponse"]
        if body["jobstatus"] != 0:
            if body["jobstatus"] != 1 and not FIRST_FAILURE:
                FIRST_FAILURE.append(str(body.get("jobresult")))
            return time.perf_counter() - started, body["jobstatus"] == 1


async def drive(
    port: int, seed: SeedResult, vms: int, concurrency: int, poll: float
) -> tuple[list[float], int, float]:
    admin = seed.identity.admin
    ids = {"zoneid": seed.infrastructure.zone_uuid}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        client = Client(session, port, admin.api_key, admin.secret_key)
        ids.update(await _catalog_ids(client))
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(vms):
            queue.put_nowait(n)
        latencies: list[float] = []
        failures = 0

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                queue.get_nowait()
                latency, ok = await deploy_one(client, ids, poll)
                latencies.append(latency)
                failures += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, failures, time.perf_counter() - started


async def _catalog_ids(client: Client) -> dict[str, str]:
    offerings = await client.call("listServiceOfferings")
    templates = await client.call("listTemplates", templatefilter="featured")
    small = min(
        offerings["listserviceofferingsresponse"]["serviceoffering"],
        key=lambda o: o.get("memory", 0),
    )
    template = templates["listtemplatesresponse"]["template"][0]
    return {"serviceofferingid": small["id"], "templateid": template["id"]}


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the server and its worker processes, summed."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True
    ).stdout.split()
    total = 0
    for one in [str(pid), *children]:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--existing", type=int, default=0, help="VMs already in the database")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between job polls")
    args = parser.parse_args()
    url = f"{SERVER}/stackshift_bench_deploy"
    hosts = max(args.hosts, (args.vms + args.existing) // 300 + 1)
    seed = asyncio.run(build(url, args.existing, hosts, args.vms))
    port = free_port()
    serve = [
        sys.executable,
        "-m",
        "compat_api.cli",
        "serve",
        "--db",
        url,
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    server = subprocess.Popen(
        serve,
        cwd=ROOT,
        env={**os.environ, "STACKSHIFT_ENCRYPTION_KEY": KEY},
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
        latencies, failures, elapsed = asyncio.run(
            drive(port, seed, args.vms, args.concurrency, args.poll)
        )
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
        asyncio.run(drop_database(url))
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"command: python -m bench.deploy {shlex.join(sys.argv[1:])}")
    print(
        f"server : {shlex.join(serve[1:])}  (MariaDB, Simulator, {hosts} hosts, {args.existing} VMs already there)"
    )
    print(
        f"deployed {len(latencies)} VMs ({failures} failed) in {elapsed:.1f} s = {len(latencies) / elapsed * 60:.0f} VMs/minute"
    )
    print(
        f"job latency p50 {quantiles[49]:.2f} s  p99 {quantiles[98]:.2f} s  (poll every {args.poll} s)"
    )
    print(f"server peak RSS {rss:.0f} MB (all worker processes)")
    if FIRST_FAILURE:
        print(f"first failure: {FIRST_FAILURE[0]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
