"""A start job left behind by a crashed process: claimed by `owner`, capacity reserved,
hanging in its "start on host" step when the process died."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from compat_api import job_results
from engine.hosts import HostDrivers
from engine.hypervisor.registry import DriverRegistry, HypervisorSettings
from engine.hypervisor.simulator import simulators
from engine.jobs.executor import run_job
from engine.jobs.submit import JobRequest, submit
from engine.lifecycle import StepContext
from engine.vm.processes import START
from schema_bridge import job_queue
from schema_bridge.capacity import CPU, MEMORY
from schema_bridge.db import Database
from schema_bridge.own_tables import job_progress
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job, host, op_host_capacity
from schema_bridge.vm_rows import InsertedVm, VmRequest, insert_vm

START_CLASS = "org.apache.cloudstack.api.command.user.vm.StartVMCmd"


@dataclass(frozen=True)
class CrashedJob:
    vm: InsertedVm
    job_id: int
    uuid: str


async def stopped_vm(db: Database, seed: SeedResult) -> InsertedVm:
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        states=("Stopped",),
    )
    return await insert_vm(db, seed.identity.user, request)


async def submit_start(
    db: Database, seed: SeedResult, vm: InsertedVm, msid: int
) -> tuple[int, str]:
    who = seed.identity.user
    request = JobRequest(
        process=START,
        java_class=START_CLASS,
        user_id=who.user_id,
        account_id=who.account_id,
        domain_id=who.domain_id,
        resource_id=vm.id,
        resource_uuid=vm.uuid,
        http_method="GET",
        params={"command": "startVirtualMachine", "id": vm.uuid, "response": "json"},
    )
    async with db.engine.begin() as conn:
        job = await submit(conn, msid, request)
    return job.id, job.uuid


async def _hang_start_everywhere(db: Database, vm: InsertedVm) -> list[str]:
    async with db.engine.connect() as conn:
        ips = [str(ip) for ip in (await conn.execute(select(host.c.private_ip_address))).scalars()]
    for ip in ips:
        simulators.host(ip).delay("start", 60.0, vm.instance_name)
    return ips


async def crash_in_start(db: Database, seed: SeedResult, owner: int) -> CrashedJob:
    vm = await stopped_vm(db, seed)
    job_id, uuid = await submit_start(db, seed, vm, owner)
    async with db.engine.begin() as conn:
        claimed = await job_queue.claim_next(conn, owner)
    assert claimed is not None and claimed.id == job_id
    ips = await _hang_start_everywhere(db, vm)
    drivers = HostDrivers(db, DriverRegistry(HypervisorSettings()))
    async with db.engine.connect() as conn:
        progress = await job_queue.load_progress(conn, job_id)
    assert progress is not None
    ctx = StepContext(db, claimed, vm.id, dict(progress.state), drivers, owner)
    task = asyncio.create_task(run_job(ctx, START, 0, job_results.build))
    # Cancelled only once it waits on the (delayed) hypervisor: a query cancelled halfway
    # would spoil its pooled connection for the rest of the test.
    for _ in range(400):
        if any(simulators.host(ip).vm(vm.instance_name) for ip in ips):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the start job never reached the hypervisor")
    await asyncio.sleep(0.05)
    task.cancel()  # the process dies here
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return CrashedJob(vm, job_id, uuid)


async def age_job(db: Database, job_id: int, seconds: int) -> None:
    """Pretend the job was created, and last moved, `seconds` ago."""
    shift = timedelta(seconds=seconds)
    async with db.engine.begin() as conn:
        row = (
            await conn.execute(
                select(async_job.c.created, async_job.c.last_updated).where(
                    async_job.c.id == job_id
                )
            )
        ).one()
        await conn.execute(
            update(async_job)
            .where(async_job.c.id == job_id)
            .values(created=row.created - shift, last_updated=row.last_updated - shift)
        )
        updated = (
            await conn.execute(
                select(job_progress.c.updated).where(job_progress.c.job_id == job_id)
            )
        ).scalar()
        if updated is not None:
            await conn.execute(
                update(job_progress)
                .where(job_progress.c.job_id == job_id)
                .values(updated=updated - shift)
            )


async def used_capacity(db: Database) -> list[tuple[int | None, int, int]]:
    """CPU and memory used per host (what starting a VM reserves)."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(
                op_host_capacity.c.host_id,
                op_host_capacity.c.capacity_type,
                op_host_capacity.c.used_capacity,
            )
            .where(op_host_capacity.c.capacity_type.in_((CPU, MEMORY)))
            .order_by(op_host_capacity.c.id)
        )
        return [(None if a is None else int(a), int(b), int(c)) for a, b, c in rows]
