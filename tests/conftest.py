"""Shared database fixtures: every database test runs on SQLite and on a real MariaDB.

MariaDB tests create their own `ss_test_<hex>` database on the server named by
STACKSHIFT_TEST_MARIADB (default mysql://root@127.0.0.1:3306) and drop it afterwards.
They skip when the server is unreachable, except under CI=true, where that is a failure.

Engines are opened per test, inside the test's event loop (asyncmy connections belong to
one loop); session fixtures only prepare templates, using their own short-lived loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from migrate import schema as own_schema
from schema_bridge.db import (
    Database,
    create_database_if_missing,
    drop_database,
    mysql_database_name,
    open_database,
)
from schema_bridge.seed import SeedResult, init_database
from schema_bridge.seed_install import create_legacy_schema
from tests.mariadb_pool import ClonePool

T = TypeVar("T")
# Response objects refuse unknown field names in tests (see compat_api.shapes).
os.environ.setdefault("STACKSHIFT_STRICT_SHAPES", "1")
MARIADB_SERVER = os.environ.get("STACKSHIFT_TEST_MARIADB", "mysql://root@127.0.0.1:3306")
TEST_HOSTS = 4
TEST_ENCRYPTION_KEY = "stackshift-test-key"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


def _mariadb_reachable() -> str | None:
    """None when the test server answers, else the reason it does not."""
    url = make_url(MARIADB_SERVER).set(drivername="mysql+pymysql")
    engine = create_engine(url, connect_args={"connect_timeout": 3}, poolclass=NullPool)
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        return str(error.orig)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def mariadb_server() -> str:
    """The MariaDB server URL (no database); skips, or fails under CI, when it is down."""
    problem = _mariadb_reachable()
    if problem is not None:
        message = f"MariaDB at {MARIADB_SERVER} unreachable: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return MARIADB_SERVER.rstrip("/")


def new_mariadb_url(server: str) -> str:
    return f"{server}/ss_test_{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which backend ("sqlite" or "mariadb"); tests using it run once per backend."""
    return str(request.param)


@pytest.fixture
async def db_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """URL of a new, empty database on each backend, removed after the test."""
    if backend == "sqlite":
        yield str(tmp_path / "cloud.db")
        return
    url = new_mariadb_url(request.getfixturevalue("mariadb_server"))
    await create_database_if_missing(url)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def mariadb_url(mariadb_server: str) -> AsyncIterator[str]:
    """URL of a new, empty MariaDB database, for tests that only make sense there."""
    url = new_mariadb_url(mariadb_server)
    await create_database_if_missing(url)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """An open, empty database (no tables) on each backend."""
    db = await open_database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def legacy_db(database: Database) -> Database:
    """All legacy tables created, no rows."""
    await create_legacy_schema(database)
    return database


async def _seed_template(url: str) -> SeedResult:
    await create_database_if_missing(url)
    db = await open_database(url)
    try:
        result = await init_database(db, hosts=TEST_HOSTS, encryption_key=TEST_ENCRYPTION_KEY)
    finally:
        await db.dispose()
    # Our own tables too, so copies and clones start complete.
    await asyncio.to_thread(own_schema.upgrade, url)
    return result


def run_in_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh loop in a thread.

    Session fixtures may be first requested from inside a test's running loop, where
    asyncio.run is not allowed.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def sqlite_seed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeedResult]:
    """A seeded SQLite file made once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("seed") / "template.db"
    result = run_in_own_loop(_seed_template(str(path)))
    return path, result


@pytest.fixture(scope="session")
def mariadb_seed_template(mariadb_server: str) -> Iterator[tuple[str, SeedResult]]:
    """A seeded MariaDB database made once per session; tests get clones of it."""
    url = new_mariadb_url(mariadb_server)
    result = run_in_own_loop(_seed_template(url))
    yield url, result
    run_in_own_loop(drop_database(url))


@pytest.fixture(scope="session")
def mariadb_clones(
    mariadb_server: str, mariadb_seed_template: tuple[str, SeedResult]
) -> Iterator[ClonePool]:
    """Clones of the template, prepared in the background while tests run."""
    pool = ClonePool(mariadb_server, mysql_database_name(mariadb_seed_template[0]))
    pool.start()
    yield pool
    pool.close()


@pytest.fixture
async def seeded_db(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Database, SeedResult]]:
    """A realistic seeded cloud of its own (a copy of the session template) on each backend."""
    if backend == "sqlite":
        template, result = request.getfixturevalue("sqlite_seed_template")
        copy = tmp_path / "seeded.db"
        shutil.copyfile(template, copy)
        url = str(copy)
    else:
        _, result = request.getfixturevalue("mariadb_seed_template")
        pool: ClonePool = request.getfixturevalue("mariadb_clones")
        name = await asyncio.to_thread(pool.take)
        url = f"{request.getfixturevalue('mariadb_server')}/{name}"
    db = await open_database(url)
    try:
        yield db, result
    finally:
        await db.dispose()
        if backend == "sqlite":
            await drop_database(url)
        else:
            # Reset in the background; a test that changed the schema gets its clone replaced.
            pool.give_back(
                name, altered=request.node.get_closest_marker("alters_schema") is not None
            )
