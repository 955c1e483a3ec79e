"""Upgrading stackshift's own tables: adoption of a CloudStack database, expand and contract
revisions, the contract refused while an older release is alive, and legacy tables never
touched."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, pool, select, update

from compat_api.cli import main
from migrate import revisions, schema, upgrade
from migrate.checks import Target
from migrate.checks import own_schema as own_schema_check
from schema_bridge import instances
from schema_bridge.db import Database, open_database
from schema_bridge.dialect import utc_now
from schema_bridge.own_tables import OWN_PREFIX, own_metadata
from schema_bridge.own_tables import instances as instances_table
from tests.compat_api.conftest import db_url_of
from tests.migrate import later_release

HEAD = revisions.head()


@pytest.fixture
def later(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, this process is the later release (expand, then contract)."""
    directory = later_release.write(tmp_path / "later")
    monkeypatch.setattr(revisions, "EXTRA_LOCATIONS", [str(directory)])


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_revision_names_its_phase() -> None:
    for revision in revisions.chain():
        script = revision.id
        module_doc = _doc(script)
        assert module_doc.split(":", 1)[0] in revisions.PHASES, script
    assert len(revisions.chain()) == len({r.id for r in revisions.chain()})


def _doc(revision_id: str) -> str:
    script = ScriptDirectory.from_config(revisions.alembic_config())
    found = script.get_revision(revision_id)
    assert found is not None
    return str(found.module.__doc__).strip()


def test_phase_of() -> None:
    assert revisions.phase_of("expand: a table\n\nmore") == ("expand", "a table")
    assert revisions.phase_of("contract: drop it") == ("contract", "drop it")
    assert revisions.phase_of("add a table") == ("contract", "add a table")  # the cautious reading


async def test_adopting_a_cloudstack_database(
    legacy_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url_of(legacy_db)
    code, out, _ = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--check", "--db", url)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "at nothing (no stackshift tables yet); pending:"
    assert lines[1] == "  0001_sessions (expand): browser sessions table"
    assert len(lines) == 1 + len(revisions.chain())
    code, out, _ = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--db", url)
    assert code == 0
    assert out.splitlines()[-1] == f"applied {HEAD}"
    code, out, _ = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--check", "--db", url)
    assert (code, out) == (0, f"up to date at {HEAD}\n")


async def _register(db: Database, schema_revision: str | None, age_seconds: float = 0) -> int:
    msid = instances.new_msid()
    await instances.register(db, msid, "test")
    async with db.engine.begin() as conn:
        await conn.execute(
            update(instances_table)
            .where(instances_table.c.msid == msid)
            .values(
                schema_revision=schema_revision,
                heartbeat=utc_now() - timedelta(seconds=age_seconds),
            )
        )
    return msid


async def _at_head(database: Database) -> str:
    url = db_url_of(database)
    await asyncio.to_thread(schema.upgrade, url, HEAD)  # this release's head, not the later one
    return url


@pytest.mark.usefixtures("later")
async def test_contract_refused_while_an_older_release_is_alive(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await _at_head(database)
    older = await _register(database, HEAD)
    await _register(database, later_release.CONTRACT)  # already the later release: no obstacle
    await _register(database, None, age_seconds=60)  # dead: no obstacle
    code, out, err = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--db", url)
    assert code == 1, (out, err)
    assert out.splitlines() == [
        f"at {HEAD}; pending:",
        f"  {later_release.EXPAND} (expand): a probe table and a note on every instance, for "
        "a later release",
        f"  {later_release.CONTRACT} (contract): the probe's note column, which the later "
        "release no longer uses",
        f"applied {later_release.EXPAND}",
    ]
    host = (socket.gethostname(), os.getpid())
    assert err.strip() == (
        f"contract revision {later_release.CONTRACT} refused: instances of an older release "
        f"are alive: {older} on {host[0]} pid {host[1]} (version test, schema {HEAD}); upgrade "
        "or stop them first (an instance counts as dead once its heartbeat is older than "
        "--dead-after)"
    )
    assert schema.current(url) == later_release.EXPAND
    code, out, _ = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--check", "--db", url)
    assert code == 1 and out.splitlines()[-1].startswith(
        f"contract revision {later_release.CONTRACT} refused: instances of an older release"
    )
    # The older instance stops heartbeating: once it counts as dead, the contract runs.
    async with database.engine.begin() as conn:
        stale = utc_now() - timedelta(seconds=20)
        await conn.execute(
            update(instances_table).where(instances_table.c.msid == older).values(heartbeat=stale)
        )
    code, out, _ = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--db", url)
    assert code == 0 and out.splitlines()[-1] == f"applied {later_release.CONTRACT}"
    assert schema.current(url) == later_release.CONTRACT


@pytest.mark.usefixtures("later")
async def test_an_instance_that_recorded_no_revision_is_older(database: Database) -> None:
    url = await _at_head(database)
    await asyncio.to_thread(schema.upgrade, url, later_release.EXPAND)
    await _register(database, None)
    plan = await asyncio.to_thread(upgrade.plan, url, 15.0)
    assert plan.blocked is not None and plan.blocked.id == later_release.CONTRACT
    assert plan.runnable == []


@pytest.mark.usefixtures("later")
async def test_serve_applies_expands_and_stops_at_a_contract(database: Database) -> None:
    url = await _at_head(database)
    await _register(database, HEAD)
    problem, note = await asyncio.to_thread(upgrade.on_start, url, 15.0)
    assert problem == (
        f"contract revision {later_release.CONTRACT} must be applied before this release can "
        "serve: run `stackshift db upgrade` once no older release is running"
    )
    assert note is None
    assert schema.current(url) == later_release.EXPAND


async def test_a_database_ahead_of_this_release(
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = await _at_head(database)
    directory = later_release.write(tmp_path / "later", contract=False)
    monkeypatch.setattr(revisions, "EXTRA_LOCATIONS", [str(directory)])
    await asyncio.to_thread(schema.upgrade, url)
    monkeypatch.setattr(revisions, "EXTRA_LOCATIONS", [])
    # An older release restarting after the expand still serves.
    problem, note = await asyncio.to_thread(upgrade.on_start, url, 15.0)
    assert problem is None
    assert note == (
        f"the database's own schema is at {later_release.EXPAND}, newer than this release "
        f"knows ({HEAD}); serving without upgrading it"
    )
    code, out, _ = await asyncio.to_thread(_cli, capsys, "db", "upgrade", "--check", "--db", url)
    assert (code, out) == (
        1,
        f"the database is at {later_release.EXPAND}, newer than this release knows\n",
    )


def _own_diffs(url: str) -> tuple[list[Any], set[str]]:
    engine = create_engine(schema.sync_url(url), poolclass=pool.NullPool)

    def include(name: str | None, type_: str, parents: object) -> bool:
        return type_ != "table" or (name or "").startswith(OWN_PREFIX)

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": include,
                    "target_metadata": own_metadata,
                    "version_table": schema.VERSION_TABLE,
                },
            )
            return compare_metadata(context, own_metadata), _legacy_columns(conn)
    finally:
        engine.dispose()


def _legacy_columns(conn: Connection) -> set[str]:
    found = inspect(conn)
    return {
        f"{table}.{c['name']} {c['type']!s} {c['nullable']}"
        for table in found.get_table_names()
        if not table.startswith(OWN_PREFIX)
        for c in found.get_columns(table)
    }


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # SQLite FK reflection noise
async def test_legacy_tables_are_never_altered(legacy_db: Database) -> None:
    url = db_url_of(legacy_db)
    _, before = await asyncio.to_thread(_own_diffs, url)
    await asyncio.to_thread(schema.upgrade, url)
    diffs, after = await asyncio.to_thread(_own_diffs, url)
    assert after == before  # every legacy column as it was
    # Autogenerate, seeing only stackshift_* tables, finds nothing to do: the revisions
    # build exactly the declared own tables, and no legacy table is in view.
    assert diffs == []


@pytest.mark.mariadb
async def test_instances_starting_together_upgrade_once(mariadb_url: str) -> None:
    """Every instance applies pending expands at start; the lock keeps two from racing."""
    results = await asyncio.gather(
        *(asyncio.to_thread(upgrade.on_start, mariadb_url, 15.0) for _ in range(3))
    )
    assert results == [(None, None)] * 3
    assert schema.current(mariadb_url) == HEAD


@pytest.mark.usefixtures("later")
async def test_check_reports_pending_revisions_and_a_held_contract(database: Database) -> None:
    url = await _at_head(database)
    older = await _register(database, HEAD)
    pending, held = await own_schema_check.run(Target(db=database, url=url))
    assert pending.line() == (
        f"WARN own_schema: stackshift's tables are at {HEAD}; pending: {later_release.EXPAND} "
        "(expand): a probe table and a note on every instance, for a later release, "
        f"{later_release.CONTRACT} (contract): the probe's note column, which the later release "
        "no longer uses. To do: run `stackshift db upgrade` (serve also applies expand "
        "revisions at start)"
    )
    assert held.status == "WARN"
    assert held.found.startswith(
        f"contract revision {later_release.CONTRACT} refused: instances of an older release "
        f"are alive: {older} on "
    )


@contextlib.contextmanager
def _holding_instances_table(url: str) -> Iterator[Connection]:
    """An open transaction that read stackshift_instances: an operator's forgotten session."""
    engine = create_engine(schema.sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(select(instances_table.c.msid)).all()
            yield conn
            conn.rollback()
    finally:
        engine.dispose()


@pytest.mark.mariadb
async def test_an_expand_never_holds_up_live_instances_for_long(
    mariadb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ALTER waiting for a busy table blocks every statement behind it; each try waits at
    most DDL_LOCK_WAIT_SECONDS, and between tries heartbeats go through."""
    url = mariadb_url
    await asyncio.to_thread(schema.upgrade, url, HEAD)
    db = await open_database(url)
    msid = instances.new_msid()
    await instances.register(db, msid, "test")
    directory = later_release.write(tmp_path / "later", contract=False)
    monkeypatch.setattr(revisions, "EXTRA_LOCATIONS", [str(directory)])
    pending = (await asyncio.to_thread(upgrade.plan, url, 15.0)).runnable
    slowest = 0.0
    try:
        with _holding_instances_table(url) as holder:
            applying = asyncio.create_task(asyncio.to_thread(upgrade.apply, url, pending))
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                began = time.monotonic()
                await instances.heartbeat(db, msid)
                slowest = max(slowest, time.monotonic() - began)
                await asyncio.sleep(0.1)
            assert not applying.done()
            holder.rollback()
        await applying
    finally:
        await db.dispose()
    print(f"\nslowest heartbeat while the ALTER waited: {slowest:.2f} s")
    assert slowest < schema.DDL_LOCK_WAIT_SECONDS + 1.0
    assert schema.current(url) == later_release.EXPAND


@pytest.mark.mariadb
async def test_a_table_kept_busy_stops_the_upgrade_cleanly(
    mariadb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(schema.upgrade, mariadb_url, HEAD)
    directory = later_release.write(tmp_path / "later", contract=False)
    monkeypatch.setattr(revisions, "EXTRA_LOCATIONS", [str(directory)])
    monkeypatch.setattr(upgrade, "DDL_TRIES", 2)
    with _holding_instances_table(mariadb_url):
        problem, _ = await asyncio.to_thread(upgrade.on_start, mariadb_url, 15.0)
    assert problem == (
        f"revision {later_release.EXPAND} waited 2 times 2 s for a table another transaction "
        "keeps open (look for it in SHOW PROCESSLIST); nothing after it was applied, run "
        "`stackshift db upgrade` again"
    )
    assert schema.current(mariadb_url) == HEAD
    # Nothing of the revision is left behind: the next try applies it whole.
    await asyncio.to_thread(upgrade.apply, mariadb_url, [revisions.chain()[-1]])
    assert schema.current(mariadb_url) == later_release.EXPAND
