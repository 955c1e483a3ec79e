"""The route store and `stackshift route`: set, clear, show, history, and refusals."""

from __future__ import annotations

import asyncio
import json

import pytest

from compat_api.cli import main
from compat_api.commands import build_registry
from compat_api.routing import load
from migrate import routes as store
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import db_url_of

IMPLEMENTED = build_registry().names()


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_set_replace_clear_and_history(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    scope = store.Scope("vm")
    before, after = await store.set_route(
        db, store.RouteSpec(scope, "engine", percent=10), IMPLEMENTED, "ops", "canary"
    )
    assert before is None and after.backend == "engine" and after.percent == 10
    before, after = await store.set_route(
        db,
        store.RouteSpec(scope, "engine", shadow=True, ignore_fields=frozenset({"b", "a"})),
        IMPLEMENTED,
        "ops",
        "all in",
    )
    assert before is not None and before.percent == 10
    assert after.percent == 100 and after.shadow == 1 and after.ignore_fields == "a,b"
    table = await load(db, legacy=True)
    # The watcher's version is the history's newest id (ids need not start at 1).
    assert [r.backend for r in table.routes] == ["engine"]
    assert table.version == (await store.history(db))[0].id
    assert await store.clear_route(db, scope, "ops", "back out") is not None
    assert await store.clear_route(db, scope, "ops", "again") is None
    entries = await store.history(db)
    assert [e.action for e in entries] == ["clear", "set", "set"]
    assert json.loads(entries[0].before or "")["reason"] == "all in" and entries[0].after is None
    assert entries[2].who == "ops" and entries[2].reason == "canary"
    assert (await load(db, legacy=True)).version == entries[0].id


async def test_cli_round_trip(
    seeded_db: tuple[Database, SeedResult], capsys: pytest.CaptureFixture[str]
) -> None:
    db, seed = seeded_db
    url = db_url_of(db)
    account = seed.identity.user.account_name
    code, out, _ = await _cli(
        capsys,
        "route",
        "set",
        "engine",
        "--db",
        url,
        "--command",
        "listVolumes",
        "--account",
        account,
        "--reason",
        "pilot",
        "--who",
        "alice",
    )
    assert code == 0 and f"account={account}" in out, out
    code, out, _ = await _cli(
        capsys,
        "route",
        "set",
        "engine",
        "--db",
        url,
        "--subsystem",
        "vm",
        "--domain",
        "ROOT",
        "--percent",
        "25",
        "--shadow",
        "--shadow-percent",
        "5",
        "--ignore-field",
        "created",
        "--reason",
        "canary",
    )
    assert code == 0 and "engine 25%" in out and "shadow 5% ignoring created" in out, out
    code, out, _ = await _cli(capsys, "route", "show", "--db", url)
    assert code == 0 and "Routes: 2" in out and "domain=ROOT" in out and "pilot" in out
    code, out, _ = await _cli(
        capsys,
        "route",
        "clear",
        "--db",
        url,
        "--subsystem",
        "vm",
        "--domain",
        "/",
        "--reason",
        "done",
    )
    assert code == 0 and "route cleared" in out
    code, out, _ = await _cli(capsys, "route", "history", "--db", url)
    assert code == 0 and out.count("before:") == 3 and "alice  set volume/listVolumes" in out
    stored = await store.list_routes(db)
    assert [(r.command, r.account) for r in stored] == [
        ("listVolumes", seed.identity.user.account_uuid)
    ]


REFUSALS = [
    (
        ["--command", "addBrocadeVcsDevice", "engine"],
        "refused: the engine does not implement addBrocadeVcsDevice; it can only be routed to legacy",
    ),
    (
        ["--subsystem", "usage", "engine"],
        "refused: the engine implements no command of subsystem usage",
    ),
    (["--subsystem", "nope", "engine"], "refused: unknown subsystem nope"),
    (["--command", "listNothing", "legacy"], "refused: listNothing is not a CloudStack command"),
    (
        ["--command", "listVolumes", "--subsystem", "vm", "legacy"],
        "refused: listVolumes belongs to subsystem volume, not vm",
    ),
    (["legacy"], "refused: name a --subsystem or a --command"),
    (
        ["--subsystem", "vm", "--percent", "101", "engine"],
        "refused: --percent must be between 0 and 100, not 101",
    ),
    (
        ["--command", "deployVirtualMachine", "--shadow", "engine"],
        "refused: deployVirtualMachine is not read-only; mutating commands are never shadowed",
    ),
    (["--subsystem", "vm", "--account", "nobody", "engine"], "refused: no account named nobody"),
    (
        ["--subsystem", "vm", "--domain", "ROOT/Nowhere", "engine"],
        "refused: no domain with path /Nowhere/",
    ),
]


@pytest.mark.parametrize(("argv", "message"), REFUSALS)
async def test_cli_refusals(
    seeded_db: tuple[Database, SeedResult],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    code, out, err = await _cli(capsys, "route", "set", "--db", url, "--reason", "x", *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"stackshift: {message}"), err
    assert err.count("\n") == 1
    assert await store.list_routes(db) == [] and await store.history(db) == []


async def test_set_without_a_reason_is_refused(
    seeded_db: tuple[Database, SeedResult], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = seeded_db
    code, _, err = await _cli(
        capsys, "route", "set", "engine", "--db", db_url_of(db), "--subsystem", "vm"
    )
    assert code == 2
    assert err == "stackshift: refused: --reason is required (it is kept in the route history)\n"
