"""Open the legacy database (MariaDB/MySQL or SQLite) as an async SQLAlchemy engine."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

Backend = Literal["mysql", "sqlite"]

# CloudStack stores UTC (JDBC serverTimezone=UTC) and runs with this strict session sql_mode.
MYSQL_INIT_COMMAND = (
    "SET time_zone='+00:00', sql_mode='STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
)
SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY_OPTION = "stackshift_read_only"
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


@dataclass(frozen=True)
class Database:
    """An open legacy database: the engine, which backend it is, and a URL safe for logs."""

    engine: AsyncEngine
    backend: Backend
    display_url: str

    @property
    def is_mysql(self) -> bool:
        return self.backend == "mysql"

    @property
    def reader(self) -> AsyncEngine:
        """The engine for read-only work: on SQLite its transactions take no write lock.

        Every other SQLite transaction starts with BEGIN IMMEDIATE (see below), which keeps
        read-then-write sequences safe but serialises them; pure reads need not wait.
        """
        return self.engine.execution_options(**{READ_ONLY_OPTION: True})

    @functools.cached_property
    def read_only(self) -> Database:
        """This database for work that only reads (a list command): the same pool, whose
        transactions take no write lock on SQLite, so a burst of reads does not queue."""
        return Database(self.reader, self.backend, self.display_url)

    async def dispose(self) -> None:
        await self.engine.dispose()


def normalise_url(url: str) -> URL:
    """The async driver URL for `url`; a bare path means a SQLite file."""
    if "://" not in url:
        return URL.create("sqlite+aiosqlite", database=str(Path(url).expanduser().resolve()))
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb"):
        query = {**parsed.query, "charset": "utf8mb4"}
        return parsed.set(drivername="mysql+asyncmy", query=query)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use mysql:// or sqlite"
    )


def backend_of(url: URL) -> Backend:
    return "sqlite" if url.get_backend_name() == "sqlite" else "mysql"


async def open_database(url: str) -> Database:
    """Open `url` (mysql://, mysql+pymysql://, mariadb://, sqlite:///path or a bare path)."""
    engine_url = normalise_url(url)
    backend = backend_of(engine_url)
    engine = _mysql_engine(engine_url) if backend == "mysql" else _sqlite_engine(engine_url)
    return Database(engine, backend, engine_url.render_as_string(hide_password=True))


def _mysql_engine(url: URL) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_recycle=3600,
        # READ COMMITTED avoids gap locks between job claimers and id allocators.
        isolation_level="READ COMMITTED",
        connect_args={"init_command": MYSQL_INIT_COMMAND},
    )


def _sqlite_engine(url: URL) -> AsyncEngine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (the driver's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys=ON",
    ):
        cursor.execute(pragma)
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Taking the write lock up front stands in for SELECT ... FOR UPDATE, which SQLite lacks;
    # a deferred BEGIN would fail with SQLITE_BUSY when two readers both try to write.
    read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def mysql_database_name(url: str) -> str:
    """The database named in a MariaDB URL, checked to be a plain identifier."""
    name = normalise_url(url).database or ""
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"invalid MariaDB database name {name!r}")
    return name


def _server_url(url: str) -> tuple[URL, str]:
    # URL.set() ignores None, so the database is dropped with the namedtuple _replace.
    return normalise_url(url)._replace(database=None), mysql_database_name(url)


async def _run_on_server(url: str, statement: str) -> None:
    server_url, _ = _server_url(url)
    engine = create_async_engine(server_url, poolclass=StaticPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_database_if_missing(url: str) -> None:
    """Create the MariaDB database named in `url` (utf8mb4); SQLite files need no creation."""
    if backend_of(normalise_url(url)) == "sqlite":
        return
    _, name = _server_url(url)
    await _run_on_server(
        url,
        f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
    )


async def drop_database(url: str) -> None:
    """Drop the MariaDB database named in `url`, or delete a SQLite file with its WAL files."""
    engine_url = normalise_url(url)
    if backend_of(engine_url) == "sqlite":
        path = Path(engine_url.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    _, name = _server_url(url)
    await _run_on_server(url, f"DROP DATABASE IF EXISTS `{name}`")


async def database_exists(url: str) -> bool:
    """Whether the database named in `url` exists (for SQLite: whether the file exists)."""
    engine_url = normalise_url(url)
    if backend_of(engine_url) == "sqlite":
        return Path(engine_url.database or "").exists()
    server_url, name = _server_url(url)
    engine = create_async_engine(server_url, poolclass=StaticPool)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"),
                {"name": name},
            )
    finally:
        await engine.dispose()
    return found is not None


async def server_version(connection: AsyncConnection) -> str:
    """The server's own version string, for logs and compatibility checks."""
    if connection.dialect.name == "sqlite":
        return "SQLite " + str(await connection.scalar(text("SELECT sqlite_version()")))
    return str(await connection.scalar(text("SELECT VERSION()")))
