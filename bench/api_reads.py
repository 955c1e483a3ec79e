#!/usr/bin/env python3
"""Signed read throughput and latency of a running stackshift on MariaDB.

Builds (or reuses) a seeded database with N VMs, starts `stackshift serve` with one worker
per core, then drives it with wrk (Debian package `wrk`, a C load generator, so the client
does not eat the server's CPU) using v1-signed URLs, and prints requests/second and p50/p99
for listZones and for a 500-VM listVirtualMachines page.

Usage: python bench/api_reads.py [--vms 100000] [--seconds 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import update

from compat_api.signing import sign
from migrate import schema as own_schema
from schema_bridge.db import Database, create_database_if_missing, drop_database, open_database
from schema_bridge.seed import SeedResult, init_database
from schema_bridge.seed_network import add_guest_range
from schema_bridge.tables import op_host_capacity, storage_pool
from schema_bridge.vm_rows import VmRequest, insert_vms

ROOT = Path(__file__).resolve().parent.parent
SERVER = "mysql://root@127.0.0.1:3306"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _grow_primary_storage(db: Database, seed: SeedResult, vms: int) -> None:
    """A pool big enough for `vms` root disks of 10 GB (the demo pool is sized for the demo)."""
    size = vms * 12 * 1024**3
    pool = seed.infrastructure.storage_pool_id
    cap = op_host_capacity.c
    async with db.engine.begin() as conn:
        await conn.execute(
            update(storage_pool).where(storage_pool.c.id == pool).values(capacity_bytes=size)
        )
        await conn.execute(
            update(op_host_capacity)
            .where(cap.host_id == pool, cap.capacity_type.in_((2, 3)))
            .values(total_capacity=size)
        )


async def seed_vms(db: Database, seed: SeedResult, vms: int, spare: int = 0) -> None:
    """`vms` running VMs of the demo user, with extra /16 ranges on the guest network when
    one /16 is not enough addresses (plus `spare` free ones for VMs deployed later)."""
    network = seed.networking.guest_network_id
    missing = vms + spare - seed.networking.guest_ip_count
    subnet = 2
    while missing > 0:
        async with db.engine.begin() as conn:
            missing -= await add_guest_range(
                conn, network, ipaddress.IPv4Network(f"10.{subnet}.0.0/16"), missing
            )
        subnet += 1
    await _grow_primary_storage(db, seed, vms + spare)
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=network,
        states=("Running",),
    )
    await insert_vms(db, vms, seed.user, request, batch_size=500)


async def build(url: str, vms: int, key: str) -> tuple[str, str]:
    """A fresh seeded cloud with `vms` VMs; returns the admin's api and secret keys."""
    await drop_database(url)
    await create_database_if_missing(url)
    db = await open_database(url)
    try:
        seed = await init_database(db, hosts=300, encryption_key=key)
        if vms:
            started = time.perf_counter()
            await seed_vms(db, seed, vms)
            print(f"seeded {vms} VMs in {time.perf_counter() - started:.1f} s")
    finally:
        await db.dispose()
    own_schema.upgrade(url)
    return seed.identity.admin.api_key, seed.identity.admin.secret_key


def signed_url(port: int, api_key: str, secret: str, **params: str) -> str:
    pairs = {"response": "json", "apiKey": api_key, **params}
    pairs["signature"] = sign(pairs.items(), secret)
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs.items())
    return f"http://127.0.0.1:{port}/client/api?{query}"


def wait_ready(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not answer {url}")


def run_wrk(url: str, seconds: int, connections: int, threads: int = 1) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        match = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", output)
        if match:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            figures[f"p{pct}"] = float(match.group(1)) * scale
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["errors"] = float(non2xx.group(1)) if non2xx else 0.0
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--reuse", action="store_true", help="keep the database of a previous run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    url, key = f"{SERVER}/stackshift_bench_reads", "bench-key"
    if args.reuse:
        raise SystemExit("--reuse is not supported yet: the keys are printed only when seeding")
    api_key, secret = asyncio.run(build(url, args.vms, key))
    port = free_port()
    env = {**os.environ, "STACKSHIFT_ENCRYPTION_KEY": key}
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
    server = subprocess.Popen(serve, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        zones = signed_url(port, api_key, secret, command="listZones")
        vms = signed_url(
            port,
            api_key,
            secret,
            command="listVirtualMachines",
            listall="true",
            page="1",
            pagesize="500",
        )
        wait_ready(zones)
        print(f"command: python bench/api_reads.py {shlex.join(sys.argv[1:])}")
        print(
            f"server : {shlex.join(serve[1:])}  (MariaDB, {args.vms} VMs, {args.workers} workers)"
        )
        for name, target, conns in (
            ("listZones", zones, args.connections),
            ("listVirtualMachines pagesize=500", vms, 1),
            ("listVirtualMachines pagesize=500", vms, 4),
        ):
            run_wrk(target, 2, conns)  # warm caches and connection pools
            fig = run_wrk(target, args.seconds, conns)
            print(
                f"{name:34s} {fig['rps']:8.0f} req/s  p50 {fig.get('p50', 0):7.2f} ms  "
                f"p99 {fig.get('p99', 0):7.2f} ms  non-2xx {fig['errors']:.0f}  (wrk -c{conns})"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        asyncio.run(drop_database(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
