"""Shared parts of the process-death and Galera drills: deploy through two servers, then
check that every deploy completed exactly once with nothing leaked or counted twice."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select, text

from compat_api.signing import sign
from schema_bridge.capacity import MEMORY
from schema_bridge.db import Database
from schema_bridge.own_tables import instances, job_progress
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import (
    async_job,
    data_center,
    event,
    nics,
    op_host_capacity,
    service_offering,
    vm_instance,
    vm_template,
)
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.shared_facts import ROOT

SMALL_VM_MEMORY = 512 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, start_delay: float) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "compat_api.cli", "serve", "--db", url, "--port", str(port),
        "--workers", "1", "--job-dead-after", "4", "--simulator-delay", f"start={start_delay}",
    ]  # fmt: skip
    env = {**os.environ, "STACKSHIFT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY}
    # The server's log goes to a file kept for a failed drill's report (see server_logs).
    with tempfile.NamedTemporaryFile(
        prefix=f"stackshift-drill-{port}-", suffix=".log", delete=False
    ) as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def server_logs(lines: int = 40) -> str:
    """The last lines of every drill server's log, for an assertion message."""
    parts = []
    for path in sorted(Path(tempfile.gettempdir()).glob("stackshift-drill-*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {path.name}\n" + "\n".join(tail))
    return "\n".join(parts)


async def wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"server on {port} did not start")


async def call(session: aiohttp.ClientSession, port: int, who: Credentials, **params: str) -> Any:
    pairs = {"response": "json", "apiKey": who.api_key, **params}
    pairs["signature"] = sign(pairs.items(), who.secret_key)
    async with session.post(f"http://127.0.0.1:{port}/client/api", data=pairs) as response:
        return await response.json(content_type=None)


async def deploy_args(db: Database, seed: SeedResult) -> dict[str, str]:
    async with db.engine.connect() as conn:
        zone = (await conn.execute(select(data_center.c.uuid))).scalar_one()
        offering = (
            await conn.execute(
                select(service_offering.c.uuid).where(
                    service_offering.c.id == seed.catalog.small_offering_id
                )
            )
        ).scalar_one()
        template = (
            await conn.execute(
                select(vm_template.c.uuid).where(vm_template.c.id == seed.catalog.template_ids[0])
            )
        ).scalar_one()
    return {"zoneid": zone, "serviceofferingid": offering, "templateid": template}


async def deploy_through(
    ports: list[int], seed: SeedResult, args: dict[str, str], count: int
) -> None:
    """`count` deploys spread over the servers, each accepted with {id, jobid}."""
    async with aiohttp.ClientSession() as session:
        for index in range(count):
            reply = await call(
                session,
                ports[index % len(ports)],
                seed.user,
                command="deployVirtualMachine",
                **args,
            )
            accepted = reply["deployvirtualmachineresponse"]
            assert list(accepted) == ["id", "jobid"], reply


async def held_by(db: Database, pid: int, timeout: float = 15.0) -> int:
    """Wait until the process `pid` is running at least one job; how many it holds."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.engine.connect() as conn:
            msid = (
                await conn.execute(select(instances.c.msid).where(instances.c.pid == pid))
            ).scalar()
            held = (
                await conn.execute(
                    select(func.count()).where(
                        async_job.c.job_executing_msid == msid, async_job.c.job_status == 0
                    )
                )
            ).scalar_one()
        if held or time.monotonic() > deadline:
            return int(held)
        await asyncio.sleep(0.1)


async def pending(db: Database, galera: bool = False) -> int:
    async with db.engine.connect() as conn:
        if galera:
            await conn.execute(text("SET SESSION wsrep_sync_wait = 1"))
        query = select(func.count()).where(async_job.c.job_status == 0)
        return int((await conn.execute(query)).scalar_one())


async def used_memory(db: Database) -> int:
    async with db.engine.connect() as conn:
        query = select(func.sum(op_host_capacity.c.used_capacity)).where(
            op_host_capacity.c.capacity_type == MEMORY
        )
        return int((await conn.execute(query)).scalar_one() or 0)


async def wait_settled(db: Database, galera: bool = False, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while await pending(db, galera) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert await pending(db, galera) == 0


async def check_deployed_once(
    db: Database, count: int, memory_before: int, galera: bool = False
) -> None:
    async with db.engine.connect() as conn:
        if galera:
            await conn.execute(text("SET SESSION wsrep_sync_wait = 1"))
        statuses = (
            await conn.execute(
                select(async_job.c.job_status, func.count()).group_by(async_job.c.job_status)
            )
        ).all()
        failed = (
            await conn.execute(
                select(async_job.c.id, async_job.c.job_result).where(async_job.c.job_status != 1)
            )
        ).all()
        assert [tuple(r) for r in statuses] == [(1, count)], (failed, server_logs())
        states = (
            await conn.execute(
                select(vm_instance.c.state, func.count())
                .where(vm_instance.c.type == "User")
                .group_by(vm_instance.c.state)
            )
        ).all()
        assert [tuple(r) for r in states] == [("Running", count)]
        completed = (
            await conn.execute(
                select(func.count()).where(
                    event.c.type == "VM.CREATE", event.c.state == "Completed"
                )
            )
        ).scalar_one()
        assert completed == count
        addresses = (
            await conn.execute(
                select(func.count(nics.c.ip4_address.distinct())).where(nics.c.removed.is_(None))
            )
        ).scalar_one()
        assert addresses == count
        leftovers = (
            await conn.execute(select(func.count()).select_from(job_progress))
        ).scalar_one()
        assert leftovers == 0
    # Each small VM holds 512 MiB on its host: counted once per VM, never twice.
    assert await used_memory(db) - memory_before == count * SMALL_VM_MEMORY
