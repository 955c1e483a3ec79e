"""`stackshift cutover` / `rollback`: step order, each preflight refusal with its message,
dry runs, rollback from every step, and a complete history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, text, update

from compat_api.cli import main
from compat_api.commands import build_registry
from compat_api.routing import load
from migrate import cutover, cutover_record, preflight
from migrate import cutover_steps as steps
from migrate import routes as store
from migrate.preflight import Thresholds
from schema_bridge import instances, shadow_diffs
from schema_bridge.db import Database
from schema_bridge.jobs import NewJob, insert_job
from schema_bridge.own_tables import routes
from schema_bridge.seed import SeedResult
from schema_bridge.tables import async_job
from tests.compat_api.conftest import db_url_of

IMPLEMENTED = build_registry().names()
LEGACY_MSID = 345051234567  # a legacy management server's id: no stackshift instance has it
EASY = Thresholds(max_diff_rate=0.05, min_samples=10)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _ask(step: str | None, *, rollback: bool = False, **options: object) -> cutover.Request:
    values: dict[str, object] = {"reason": "test", "who": "ops", "limits": EASY, **options}
    return cutover.Request("vm", steps.as_step(step) if step else None, rollback=rollback, **values)  # type: ignore[arg-type]


async def _samples(db: Database, count: int, diffs: int = 0) -> None:
    """Shadow comparisons of listVirtualMachines, as the mirror flushes them."""
    rows = [
        shadow_diffs.FieldRow("listVirtualMachines", "*", count, diffs, 0, 0),
        shadow_diffs.FieldRow("listVirtualMachines", "virtualmachine[].name", count, diffs, 0, 0),
    ]
    await shadow_diffs.add(db, rows, [], keep=5)


async def _global_routes(db: Database) -> list[cutover_record.RouteRow]:
    return [
        cutover_record.route_row(r)
        for r in await store.list_routes(db)
        if r.subsystem == "vm" and not r.account and not r.domain
    ]


async def _forward(db: Database, *targets: str) -> None:
    for target in targets:
        await _samples(db, 20)
        outcome = await cutover.run(db, _ask(target), IMPLEMENTED)
        assert outcome.applied, [f.line() for f in outcome.findings]


async def test_steps_write_their_routes_in_order(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    await _forward(db, "mirror")
    table = await load(db, legacy=True)
    decision = table.decide(build_registry().get("listVirtualMachines"), "listVirtualMachines")
    assert (decision.backend, decision.shadow) == ("legacy", True)
    await _forward(db, "reads")
    table = await load(db, legacy=True)
    reads = table.decide(build_registry().get("listVirtualMachines"), "listVirtualMachines")
    writes = table.decide(build_registry().get("deployVirtualMachine"), "deployVirtualMachine")
    assert (reads.backend, reads.shadow, writes.backend) == ("engine", True, "legacy")
    await _forward(db, "writes")
    table = await load(db, legacy=True)
    writes = table.decide(build_registry().get("deployVirtualMachine"), "deployVirtualMachine")
    missing = table.decide(None, "migrateVirtualMachine")
    assert (writes.backend, missing.backend) == ("engine", "legacy")
    await _forward(db, "complete")
    assert await _global_routes(db) == [
        {
            "subsystem": "vm", "command": "", "account": "", "domain": "", "backend": "engine",
            "percent": 100, "shadow": False, "shadow_percent": 100, "ignore_fields": "",
        }
    ]  # fmt: skip


async def test_order_refuses_a_jump_unless_forced(
    seeded_db: tuple[Database, SeedResult], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    code, out, _ = await _cli(capsys, "cutover", "vm", "writes", "--db", url, "--reason", "hurry")
    assert code == 1, out
    assert (
        "  REFUSED order: the subsystem is at legacy, so the next step is mirror, not writes; "
        "run `cutover ... mirror` first, or add --force with a --reason"
    ) in out.splitlines()
    assert "refused: nothing changed" in out and await store.list_routes(db) == []
    code, out, _ = await _cli(
        capsys, "cutover", "vm", "writes", "--force", "--db", url, "--reason", "drill"
    )
    assert code == 0, out
    assert "PASS order: legacy -> writes, skipping steps (--force)" in out
    assert "PASS shadow: skipped: reads was skipped (--force)" in out
    async with db.engine.connect() as conn:
        latest = await cutover_record.latest(conn, "vm")
    assert latest is not None and latest.forced and latest.step == "writes"
    code, out, _ = await _cli(capsys, "cutover", "vm", "reads", "--db", url, "--reason", "back")
    assert code == 1 and "REFUSED order: the subsystem is at writes; reads is behind it" in out


async def test_request_refusals(
    seeded_db: tuple[Database, SeedResult], capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url_of(seeded_db[0])
    code, _, err = await _cli(capsys, "cutover", "vm", "mirror", "--db", url)
    assert code == 2
    assert err.strip() == (
        "stackshift: REFUSED request: no reason given; add --reason TEXT (it is kept in the "
        "history)"
    )
    code, _, err = await _cli(capsys, "cutover", "vms", "mirror", "--db", url, "--reason", "x")
    assert code == 2 and "REFUSED request: unknown subsystem vms; name one of vm, volume" in err
    code, _, err = await _cli(
        capsys, "cutover", "vm", "writes", "--percent", "0", "--db", url, "--reason", "x"
    )
    assert code == 2 and "REFUSED request: --percent 0; give a share between 1 and 100" in err
    code, _, err = await _cli(
        capsys, "cutover", "vm", "complete", "--percent", "50", "--db", url, "--reason", "x"
    )
    assert code == 2 and "REFUSED request: --percent means nothing for complete; " in err
    code, out, _ = await _cli(capsys, "rollback", "vm", "--db", url, "--reason", "x")
    assert code == 1 and "nothing to undo" in out


async def test_rollback_on_legacy_is_refused(seeded_db: tuple[Database, SeedResult]) -> None:
    outcome = await cutover.run(seeded_db[0], _ask(None, rollback=True), IMPLEMENTED)
    assert [f.line() for f in outcome.findings if not f.ok] == [
        "REFUSED order: the subsystem is on legacy already; there is nothing to undo"
    ]


async def test_engine_refusals(seeded_db: tuple[Database, SeedResult]) -> None:
    db, seed = seeded_db
    nothing = cutover.Request("kubernetes", "mirror", "try", "ops")
    outcome = await cutover.run(db, nothing, IMPLEMENTED)
    assert not outcome.applied
    assert "REFUSED engine: the engine implements none of kubernetes's read commands; " in (
        outcome.findings[1].line()
    )
    # An account override (written before an older stackshift lost the command, say) that
    # sends the engine a command it does not implement.
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(routes).values(
                subsystem="vm", command="migrateVirtualMachine",
                account=seed.identity.user.account_uuid, domain="", backend="engine",
                updated=datetime(2026, 1, 1), updated_by="ops", reason="old",
            )
        )  # fmt: skip
    outcome = await cutover.run(db, _ask("mirror"), IMPLEMENTED)
    assert outcome.findings[1].line() == (
        "REFUSED engine: the engine does not implement migrateVirtualMachine, which would be "
        "routed to it; route those commands to legacy (`stackshift route set legacy "
        "--command C`) or upgrade stackshift"
    )


async def test_shadow_refusals(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    await _forward(db, "mirror")
    await _samples(db, 4)
    outcome = await cutover.run(db, _ask("reads"), IMPLEMENTED)
    assert outcome.findings[2].line() == (
        "REFUSED shadow: only 4 shadow samples during mirror, difference rate 0.00% (at least "
        "10 needed); let mirror run longer under traffic, or lower --min-samples"
    )
    await _samples(db, 16, diffs=2)
    outcome = await cutover.run(db, _ask("reads"), IMPLEMENTED)
    assert outcome.findings[2].line() == (
        "REFUSED shadow: 20 shadow samples during mirror, difference rate 10.00%, most in "
        "listVirtualMachines:virtualmachine[].name, not under 5.00%; see `stackshift diffs` and "
        "fix the differences (or ignore volatile fields)"
    )
    assert not outcome.applied
    # Samples from before the step began do not count for the next one.
    await _samples(db, 200)
    await _forward(db, "reads")
    outcome = await cutover.run(db, _ask("writes"), IMPLEMENTED)
    assert (
        outcome.findings[2].line().startswith("REFUSED shadow: only 0 shadow samples during reads")
    )


async def _job(db: Database, seed: SeedResult, msid: int) -> str:
    job_uuid = str(uuid.uuid4())
    async with db.engine.begin() as conn:
        await insert_job(
            conn,
            NewJob(
                job_uuid, 2, seed.identity.user.account_id,
                "org.apache.cloudstack.api.command.user.vm.StartVMCmd", "{}", msid,
                instance_type="VirtualMachine", instance_id=1,
            ),
        )  # fmt: skip
    return job_uuid


async def _finish(db: Database, job_uuid: str, after: float) -> None:
    await asyncio.sleep(after)
    async with db.engine.begin() as conn:
        await conn.execute(
            update(async_job).where(async_job.c.uuid == job_uuid).values(job_status=1)
        )


async def test_jobs_on_the_side_losing_writes(seeded_db: tuple[Database, SeedResult]) -> None:
    db, seed = seeded_db
    await _forward(db, "mirror", "reads")
    job = await _job(db, seed, LEGACY_MSID)
    await _samples(db, 20)
    outcome = await cutover.run(db, _ask("writes"), IMPLEMENTED)
    assert outcome.findings[3].line() == (
        f"REFUSED jobs: 1 vm job(s) still running on legacy ({job}); wait for them "
        "(--wait SECONDS) or fail them (`stackshift jobs --fail`) first"
    )
    waited = await cutover.run(db, _ask("writes", wait_seconds=0.3), IMPLEMENTED)
    assert "after waiting 0.3s" in waited.findings[3].line() and not waited.applied
    finishing = asyncio.create_task(_finish(db, job, 0.3))
    outcome = await cutover.run(db, _ask("writes", wait_seconds=10), IMPLEMENTED)
    await finishing
    assert outcome.applied and outcome.findings[3].line() == (
        "PASS jobs: no vm job is running on legacy"
    )
    # Back from writes the engine loses them: a job of a stackshift instance holds it up,
    # a legacy one does not.
    await _job(db, seed, LEGACY_MSID)
    msid = instances.new_msid()
    await instances.register(db, msid, "test")
    ours = await _job(db, seed, msid)
    outcome = await cutover.run(db, _ask(None, rollback=True), IMPLEMENTED)
    assert (
        outcome.findings[3]
        .line()
        .startswith(f"REFUSED jobs: 1 vm job(s) still running on the engine ({ours})")
    )
    await _finish(db, ours, 0)
    outcome = await cutover.run(db, _ask(None, rollback=True), IMPLEMENTED)
    assert outcome.applied and outcome.target == "reads"


async def test_dry_run_changes_nothing(
    seeded_db: tuple[Database, SeedResult], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    code, out, _ = await _cli(
        capsys, "cutover", "vm", "mirror", "--percent", "25", "--dry-run", "--db", url,
        "--reason", "look first",
    )  # fmt: skip
    assert code == 0, out
    assert "vm: legacy -> mirror (25%)" in out and "PASS order: legacy -> mirror" in out
    assert "    vm *: legacy, shadowed 25%" in out and "dry run: nothing changed" in out
    assert await store.list_routes(db) == [] and await store.history(db) == []
    await _forward(db, "mirror", "reads")
    before = (await store.list_routes(db), await store.history(db))
    code, out, _ = await _cli(capsys, "rollback", "vm", "--dry-run", "--db", url, "--reason", "x")
    assert code == 0 and "vm: reads -> mirror (100%)" in out, out
    assert (await store.list_routes(db), await store.history(db)) == before


async def test_rollback_from_every_step(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    expected: dict[str, list[cutover_record.RouteRow]] = {"legacy": []}
    await _forward(db, "mirror")
    await _samples(db, 20)
    await cutover.run(db, _ask("mirror", percent=30), IMPLEMENTED)  # a new sampling share
    for step in ("mirror", "reads", "writes", "complete"):
        if step != "mirror":
            await _forward(db, step)
        expected[step] = await _global_routes(db)
    for back_to in ("writes", "reads", "mirror", "legacy"):
        outcome = await cutover.run(db, _ask(None, rollback=True), IMPLEMENTED)
        assert outcome.applied and outcome.target == back_to
        assert await _global_routes(db) == expected[back_to], back_to
    assert expected["mirror"][0]["shadow_percent"] == 30
    await _forward(db, "mirror", "reads", "writes")
    outcome = await cutover.run(db, _ask("legacy", rollback=True), IMPLEMENTED)
    assert outcome.applied and await store.list_routes(db) == []


async def test_writes_canary_keeps_reads_for_everyone(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, _ = seeded_db
    await _forward(db, "mirror", "reads")
    await _samples(db, 20)
    assert (await cutover.run(db, _ask("writes", percent=10), IMPLEMENTED)).applied
    table = await load(db, legacy=True)
    deploy = build_registry().get("deployVirtualMachine")
    accounts = [str(uuid.UUID(int=n)) for n in range(200)]
    inside = [a for a in accounts if table.decide(deploy, "deployVirtualMachine", account_uuid=a)
              .backend == "engine"]  # fmt: skip
    assert 5 <= len(inside) <= 40
    lister = build_registry().get("listVirtualMachines")
    assert {table.decide(lister, "listVirtualMachines", account_uuid=a).backend
            for a in accounts} == {"engine"}  # fmt: skip
    # A rollback to writes (from complete) comes back at the canary's share.
    await _forward(db, "complete")
    outcome = await cutover.run(db, _ask(None, rollback=True), IMPLEMENTED)
    assert outcome.target == "writes" and outcome.percent == 10


async def test_history_and_status(
    seeded_db: tuple[Database, SeedResult], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    await _forward(db, "mirror", "reads")
    outcome = await cutover.run(db, _ask(None, rollback=True, reason="diffs in nics"), IMPLEMENTED)
    assert outcome.applied
    async with db.engine.connect() as conn:
        history = await cutover_record.records(conn, "vm")
    assert [(r.action, r.from_step, r.step) for r in history] == [
        ("rollback", "reads", "mirror"),
        ("cutover", "mirror", "reads"),
        ("cutover", "legacy", "mirror"),
    ]
    back = history[0]
    assert back.who == "ops" and back.reason == "diffs in nics" and back.at is not None
    assert back.routes_before == history[1].routes_after and back.routes_after == (
        history[2].routes_after
    )
    assert any(line.startswith("PASS order") for line in back.preflight)
    assert history[1].baseline["listVirtualMachines"]["*"].samples == 40
    # The route rows changed in the same transactions, each with its own history row.
    changes = [e for e in await store.history(db, 200) if e.action in ("set", "clear")]
    assert changes
    assert all(e.subsystem == "vm" and e.reason.startswith(("cutover vm", "rollback vm"))
               for e in changes)  # fmt: skip
    code, out, _ = await _cli(capsys, "cutover", "status", "--db", url)
    assert code == 0, out
    assert "vm         mirror 100% since" in out and "by ops (rollback: diffs in nics)" in out
    assert "shadow 0 samples this step, 0.00% different" in out
    await store.set_route(db, store.RouteSpec(store.Scope("vm"), "legacy"), IMPLEMENTED, "x", "y")
    code, out, _ = await _cli(capsys, "cutover", "status", "--db", url)
    assert "ROUTES CHANGED BY HAND since this step" in out
    spec = store.RouteSpec(store.Scope("vm", "listVirtualMachines", account="a-1"), "legacy")
    await store.set_route(db, spec, IMPLEMENTED, "x", "pilot account stays")
    code, out, _ = await _cli(capsys, "cutover", "status", "--db", url)
    assert "; 1 account/domain route(s) apply first" in out
    code, out, _ = await _cli(capsys, "route", "history", "--db", url, "--limit", "3")
    assert code == 0 and "set vm" in out


async def test_a_cutover_committed_meanwhile_refuses_the_second(
    seeded_db: tuple[Database, SeedResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = seeded_db
    real = preflight.jobs

    async def another_operator_first(*args: Any) -> preflight.Finding:
        monkeypatch.setattr(preflight, "jobs", real)
        assert (await cutover.run(db, _ask("mirror", percent=50), IMPLEMENTED)).applied
        return await real(*args)

    monkeypatch.setattr(preflight, "jobs", another_operator_first)
    with pytest.raises(cutover.CutoverRefusedError) as refused:
        await cutover.run(db, _ask("mirror"), IMPLEMENTED)
    assert str(refused.value) == (
        "REFUSED order: another cutover of vm happened meanwhile; run `stackshift cutover "
        "status` and try again"
    )
    async with db.engine.connect() as conn:
        assert [r.percent for r in await cutover_record.records(conn, "vm")] == [50]


# SQLite (the one-host demo) serialises writers itself; the named lock is MariaDB's.
@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
async def test_a_cutover_in_progress_elsewhere_refuses_the_second(
    seeded_db: tuple[Database, SeedResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = seeded_db
    monkeypatch.setattr(cutover, "LOCK_WAIT_SECONDS", 0)
    async with db.engine.connect() as other:
        lock = f"stackshift_cutover:{(await other.execute(text('SELECT DATABASE()'))).scalar()}:vm"
        taken = await other.execute(text("SELECT GET_LOCK(:lock, 0)"), {"lock": lock})
        assert taken.scalar() == 1
        with pytest.raises(cutover.CutoverRefusedError) as refused:
            await cutover.run(db, _ask("mirror"), IMPLEMENTED)
        await other.execute(text("SELECT RELEASE_LOCK(:lock)"), {"lock": lock})
    assert str(refused.value) == "REFUSED order: another cutover of vm is in progress; try again"
    assert (await cutover.run(db, _ask("mirror"), IMPLEMENTED)).applied
