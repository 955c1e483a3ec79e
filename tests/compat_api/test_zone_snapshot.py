"""listZones from memory: the snapshot answers exactly what the database query answers, is
reloaded in the background, and is set aside when it could not be reloaded for too long."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from compat_api.app import create_app
from compat_api.settings import Settings
from compat_api.zone_snapshot import ZoneSnapshot
from migrate import schema as own_schema
from schema_bridge import accounts, infra
from schema_bridge.db import Database
from schema_bridge.infra import ZoneFilter
from schema_bridge.seed import SeedResult
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import data_center
from tests.compat_api.conftest import db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

NAMES = ("Alpha-1", "alpha-2", "Beta_%", "gamma", "Gamma")


async def _zone(db: Database, name: str, nettype: str, state: str, domain_id: int | None) -> int:
    async with db.engine.begin() as conn:
        return await insert_row(
            conn,
            data_center,
            name=name,
            uuid=str(uuid.uuid4()),
            dns1="8.8.8.8",
            internal_dns1="10.0.0.2",
            guest_network_cidr="10.1.1.0/24",
            networktype=nettype,
            allocation_state=state,
            zone_token=str(uuid.uuid4()),
            is_security_group_enabled=False,
            is_local_storage_enabled=False,
            created=datetime.now(UTC).replace(tzinfo=None),
            type="Core",
            domain_id=domain_id,
        )


async def _more_zones(db: Database, seed: SeedResult) -> list[int]:
    domain = seed.domain_admin.domain_id
    specs = [
        ("Alpha-1", "Advanced", "Enabled", None),
        ("alpha-2", "Basic", "Disabled", None),
        ("Beta_%", "Advanced", "Enabled", domain),
        ("gamma", "Basic", "Enabled", domain),
        ("Gamma", "Advanced", "Disabled", 1),
    ]
    return [await _zone(db, *spec) for spec in specs]


filters = st.builds(
    ZoneFilter,
    ids=st.lists(st.integers(1, 8), max_size=3).map(tuple),
    name=st.none() | st.sampled_from(NAMES),
    keyword=st.none() | st.sampled_from(["a", "ALPHA", "_", "%", "mm", "zz"]),
    networktype=st.none() | st.sampled_from(["Advanced", "Basic"]),
    domain_id=st.none() | st.integers(1, 3),
    enabled_only=st.booleans(),
)


async def test_the_snapshot_answers_what_the_query_answers(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    await _more_zones(db, seed)
    snapshot = ZoneSnapshot(refresh_seconds=60)
    await snapshot.load(db)
    paths = ["/", seed.domain_admin.domain_path, "/nowhere/"]
    cases: list[tuple[ZoneFilter, str | None, int, int | None]] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        f=filters,
        path=st.none() | st.sampled_from(paths),
        offset=st.integers(0, 4),
        limit=st.none() | st.integers(1, 3),
    )
    def collect(f: ZoneFilter, path: str | None, offset: int, limit: int | None) -> None:
        cases.append((f, path, offset, limit))

    collect()
    async with db.engine.connect() as conn:
        for f, path, offset, limit in cases:
            if path is not None:
                visible = await accounts.ancestor_domain_ids(conn, path)
                assert sorted(snapshot.ancestors(path)) == sorted(visible)
                f = ZoneFilter(**{**f.__dict__, "visible_domain_ids": visible})
            expected = await infra.zones(conn, f, offset, limit)
            got = snapshot.page(f, offset, limit)
            assert [r.id for r in got.rows] == [r.id for r in expected.rows], (f, offset, limit)
            assert got.total == expected.total, (f, offset, limit)


async def test_a_change_is_seen_after_the_reload_period(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, _ = seeded_db
    snapshot = ZoneSnapshot(refresh_seconds=0.2)
    await snapshot.start(db)
    try:
        assert snapshot.usable()
        before = [r.name for r in snapshot.page(ZoneFilter(), 0, None).rows]
        async with db.engine.begin() as conn:
            await conn.execute(update(data_center).values(name="renamed-zone"))
        after = before
        for _ in range(50):  # a reload every 0.2 s; a loaded machine may delay a few
            await asyncio.sleep(0.1)
            after = [r.name for r in snapshot.page(ZoneFilter(), 0, None).rows]
            if set(after) == {"renamed-zone"}:
                break
    finally:
        await snapshot.stop()
    assert "renamed-zone" not in before and set(after) == {"renamed-zone"}


async def test_without_a_refresh_period_or_once_stale_it_is_not_used(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, _ = seeded_db
    off = ZoneSnapshot(refresh_seconds=0)
    await off.start(db)
    assert not off.usable()
    stale = ZoneSnapshot(refresh_seconds=0.1)
    await stale.load(db)  # loaded once, never reloaded
    assert stale.usable()
    await asyncio.sleep(0.35)
    assert not stale.usable()


async def test_after_login_a_browser_lists_zones_with_no_database_round_trip(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> None:
    """The UI's first calls race: listZones must be done before listApis, sent just after
    it, can be. With the session, user and role rules read at login and zones in memory,
    listZones never waits for the database, so nothing overtakes it."""
    db, _ = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    server_settings = Settings(
        db_url=url,
        encryption_key=TEST_ENCRYPTION_KEY,
        auth_cache_seconds=60,
        config_refresh_seconds=60,
        engine_enabled=False,
    )
    client = await aiohttp_client(create_app(server_settings, db=db))
    login = await client.post(
        "/client/api/",
        data={"command": "login", "username": "admin", "password": "password", "response": "json"},
    )
    key = (await login.json())["loginresponse"]["sessionkey"]
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        reply = await client.get(
            "/client/api/", params={"command": "listZones", "response": "json", "sessionkey": key}
        )
        body = await reply.json()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)
    assert reply.status == 200 and body["listzonesresponse"]["count"] >= 1
    assert statements == []
