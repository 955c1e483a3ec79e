"""Browser sessions: the short-lived cache in front of the session table, and reads that
take no write lock."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from compat_api import sessions
from schema_bridge.db import Database, open_database
from schema_bridge.own_tables import sessions as session_table
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import Api, db_url_of


async def _new(db: Database, seed: SeedResult) -> sessions.NewSession:
    return await sessions.create(db, seed.admin.user_id, timeout_s=1800)


async def test_a_cached_session_survives_a_delete_elsewhere_only_for_the_ttl(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    made = await _new(db, seed)
    cache = sessions.SessionCache(ttl=3)
    assert await sessions.find(db, made.session_id, cache) is not None
    async with db.engine.begin() as conn:  # another process logs the session out
        await conn.execute(delete(session_table))
    assert await sessions.find(db, made.session_id, cache) is not None
    await asyncio.sleep(3.1)
    assert await sessions.find(db, made.session_id, cache) is None


async def test_ending_a_session_here_forgets_it_at_once(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    made = await _new(db, seed)
    cache = sessions.SessionCache(ttl=60)
    assert await sessions.find(db, made.session_id, cache) is not None
    await sessions.destroy(db, made.session_id, cache)
    assert await sessions.find(db, made.session_id, cache) is None


async def test_without_a_ttl_every_lookup_reads_the_table(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    made = await _new(db, seed)
    cache = sessions.SessionCache(ttl=0)
    assert await sessions.find(db, made.session_id, cache) is not None
    async with db.engine.begin() as conn:
        await conn.execute(delete(session_table))
    assert await sessions.find(db, made.session_id, cache) is None


async def test_cached_user_records_expire_with_the_ttl(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    cache = sessions.SessionCache(ttl=60)
    record = await cache.user(db, seed.admin.user_id)
    assert record is not None and record.username == seed.admin.username
    assert await sessions.SessionCache(ttl=60).user(db, 987654) is None


async def test_a_session_read_does_not_wait_for_a_writer_on_sqlite(
    sqlite_seed_template: tuple[Path, SeedResult], tmp_path: Path
) -> None:
    """A burst of browser calls must not queue on SQLite's write lock to read sessions."""
    template, seed = sqlite_seed_template
    copy = tmp_path / "s.db"
    shutil.copyfile(template, copy)
    db = await open_database(str(copy))
    writer = await open_database(str(copy))
    try:
        made = await _new(db, seed)
        async with writer.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: holds the write lock
            # Under the 10 s busy timeout a queued read would wait for.
            found = await asyncio.wait_for(sessions.find(db, made.session_id), timeout=8)
            assert found is not None
            await conn.rollback()
    finally:
        await writer.dispose()
        await db.dispose()


@pytest.mark.parametrize("ttl", [0.0, 60.0])
async def test_an_idle_session_expires_even_when_cached(
    seeded_db: tuple[Database, SeedResult], ttl: float
) -> None:
    db, seed = seeded_db
    made = await sessions.create(db, seed.admin.user_id, timeout_s=2)
    cache = sessions.SessionCache(ttl=ttl)
    assert await sessions.find(db, made.session_id, cache) is not None
    await asyncio.sleep(3.2)
    assert await sessions.find(db, made.session_id, cache) is None


# The write lock readers could queue behind is SQLite's (MariaDB reads never take one).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_reads_by_session_and_key_do_not_wait_for_a_writer(api: Api) -> None:
    """On SQLite a writer holds the only write lock; a UI's burst of list calls (session
    lookup, user, role rules, the list itself) must be served meanwhile, not queue behind it."""
    login = await api.raw(
        "POST",
        {"command": "login", "username": "admin", "password": "password", "response": "json"},
    )
    key = login.inner("loginresponse")["sessionkey"]
    cookies = {"JSESSIONID": login.headers["Set-Cookie"].split("JSESSIONID=")[1].split(";")[0]}
    cookies["sessionkey"] = key
    writer = await open_database(db_url_of(api.db))
    try:
        async with writer.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is taken
            by_session = await asyncio.wait_for(
                api.raw(
                    "GET",
                    {"command": "listZones", "response": "json", "sessionkey": key},
                    cookies=cookies,
                ),
                timeout=8,  # a read queued behind the writer would wait 10 s
            )
            api.client.session.cookie_jar.clear()  # an API-key caller sends no session
            by_key = await asyncio.wait_for(api.signed("listServiceOfferings"), timeout=8)
            await conn.rollback()
    finally:
        await writer.dispose()
    assert by_session.status == 200 and by_session.inner("listzonesresponse")["count"] >= 1
    assert by_key.status == 200
