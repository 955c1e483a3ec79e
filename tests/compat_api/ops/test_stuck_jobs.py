"""Stuck jobs: a job owned by a dead msid, one hanging on a live owner, one queued behind
another, and failing a job through the engine's undo path (SQLite and MariaDB)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from compat_api.ops.fail_job import fail_job
from compat_api.ops.snapshot import JobPicture, job_picture
from compat_api.ops.stuck import JobView, StuckRules
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge import instances, jobs
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job, event, vm_instance
from tests.compat_api.conftest import db_url_of
from tests.compat_api.ops.crashed_job import (
    age_job,
    crash_in_start,
    stopped_vm,
    submit_start,
    used_capacity,
)

DEAD = 0x8000_0000_0001  # an msid no process has registered


@pytest.fixture
async def cloud(seeded_db: tuple[Database, SeedResult]) -> tuple[Database, SeedResult]:
    db, seed = seeded_db
    await asyncio.to_thread(own_schema.upgrade, db_url_of(db))
    return db, seed


def only(picture: JobPicture, uuid: str) -> JobView:
    [view] = [j for j in picture.jobs if j.uuid == uuid]
    return view


async def test_a_job_owned_by_a_dead_msid_is_stuck(cloud: tuple[Database, SeedResult]) -> None:
    db, seed = cloud
    before = await used_capacity(db)
    crashed = await crash_in_start(db, seed, DEAD)
    assert await used_capacity(db) != before  # capacity was reserved before the crash
    picture = await job_picture(db, StuckRules())
    view = only(picture, crashed.uuid)
    assert view.stuck and view.owner_msid == DEAD and view.owner_alive is False
    assert view.command == "startVirtualMachine"
    assert view.resource == f"VirtualMachine {crashed.vm.uuid}"
    assert view.step == "start on host (2/2)"
    assert view.reasons == [f"owner msid {DEAD} is dead"]
    assert view.advice.startswith("owner is dead and no stackshift instance is running")
    assert f"stackshift jobs --fail {crashed.uuid}" in view.advice
    assert picture.summary().stuck == 1 and picture.pending == 1
    assert [b.command for b in picture.backlog] == ["startVirtualMachine"]

    live = instances.new_msid()
    await instances.register(db, live, "test")
    view = only(await job_picture(db, StuckRules()), crashed.uuid)
    assert view.advice.startswith(
        "owner is dead; a live instance resumes it from step 'start on host (2/2)' within ~2 s"
    )
    assert [i.alive for i in (await job_picture(db, StuckRules())).instances] == [True]


async def test_a_live_owner_without_progress_names_the_step_and_host(
    cloud: tuple[Database, SeedResult],
) -> None:
    db, seed = cloud
    owner = instances.new_msid()
    await instances.register(db, owner, "test")
    crashed = await crash_in_start(db, seed, owner)
    assert not only(await job_picture(db, StuckRules()), crashed.uuid).stuck
    await age_job(db, crashed.job_id, 12 * 60)
    view = only(await job_picture(db, StuckRules()), crashed.uuid)
    assert view.stuck and view.owner_alive is True
    assert view.reasons == ["pending for 12 min", "no progress for 12 min"]
    assert view.advice.startswith(
        f"stuck in step 'start on host (2/2)' for 12 min on live msid {owner}: check host "
    )
    assert "stopping that instance hands the job back" in view.advice


async def test_queued_and_unclaimed_jobs(cloud: tuple[Database, SeedResult]) -> None:
    db, seed = cloud
    vm = await stopped_vm(db, seed)
    first_id, first = await submit_start(db, seed, vm, DEAD)
    second_id, second = await submit_start(db, seed, vm, DEAD)
    await age_job(db, second_id, 3600)
    picture = await job_picture(db, StuckRules())
    assert only(picture, first).advice == (
        "no stackshift instance is running to claim it: start one (`stackshift serve`)"
    )
    queued = only(picture, second)
    assert queued.stuck and queued.owner_msid is None and queued.step == "not started"
    assert queued.advice == (
        f"queued behind job {first} on the same resource; it runs when that one ends"
    )
    assert picture.pending == 2 and picture.oldest_pending_seconds >= 3600
    del first_id


async def test_fail_undoes_the_steps_and_records_the_reason(
    cloud: tuple[Database, SeedResult],
) -> None:
    db, seed = cloud
    before = await used_capacity(db)
    crashed = await crash_in_start(db, seed, DEAD)
    settings = Settings(db_url=db_url_of(db))
    outcome = await fail_job(db, crashed.uuid, "host h1 lost its disk", settings)
    assert outcome.done, outcome.message
    assert outcome.message == (
        f"job {crashed.uuid} marked failed (undid: start on host, reserve capacity); "
        "VirtualMachine is now Stopped"
    )
    assert await used_capacity(db) == before
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(async_job).where(async_job.c.id == crashed.job_id))).one()
        vm = (
            await conn.execute(select(vm_instance).where(vm_instance.c.id == crashed.vm.id))
        ).one()
        events = (
            await conn.execute(
                select(event.c.level, event.c.state, event.c.description)
                .where(event.c.resource_id == crashed.vm.id, event.c.type == "VM.START")
                .order_by(event.c.id)
            )
        ).all()
        alive = await instances.live_msids(conn, 15)
    assert (row.job_status, row.job_result_code, row.job_executing_msid) == (2, 530, None)
    stored = jobs.parse_result(row.job_result)
    assert stored is not None
    assert stored.payload["errortext"] == "Job failed by an operator: host h1 lost its disk"
    assert vm.state == "Stopped" and vm.host_id is None
    assert events[-1].level == "ERROR" and "host h1 lost its disk" in events[-1].description
    assert alive == []  # the command's own registration is gone again
    again = await fail_job(db, crashed.uuid, "twice", settings)
    assert not again.done and "already ended" in again.message
    missing = await fail_job(db, "00000000-0000-0000-0000-000000000000", "x", settings)
    assert not missing.done and missing.message.startswith("no engine job has uuid")


async def test_fail_refuses_a_job_a_live_instance_runs(cloud: tuple[Database, SeedResult]) -> None:
    db, seed = cloud
    owner = instances.new_msid()
    await instances.register(db, owner, "test")
    crashed = await crash_in_start(db, seed, owner)
    outcome = await fail_job(db, crashed.uuid, "impatient", Settings(db_url=db_url_of(db)))
    assert not outcome.done
    assert outcome.message.startswith(f"job {crashed.uuid} is held by live instance msid {owner}")
    async with db.engine.connect() as conn:
        status = (
            await conn.execute(
                select(async_job.c.job_status, async_job.c.job_executing_msid).where(
                    async_job.c.id == crashed.job_id
                )
            )
        ).one()
    assert tuple(status) == (0, owner)
    # Once the owner is gone, the job may be failed.
    await instances.unregister(db, owner)
    assert (await fail_job(db, crashed.uuid, "owner gone", Settings(db_url=db_url_of(db)))).done
