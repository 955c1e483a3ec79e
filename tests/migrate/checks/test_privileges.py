"""The privileges check with a restricted MariaDB user created (and dropped) by the test, and
the SHOW GRANTS reading on its own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from migrate.checks import Target
from migrate.checks import privileges as privileges_check
from schema_bridge.db import Database, open_database
from tests.compat_api.conftest import db_url_of


async def _as_root(db: Database, *statements: str) -> None:
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


@pytest.fixture
async def restricted(mariadb_url: str) -> AsyncIterator[tuple[Database, str, str]]:
    """(root's database, the user's name, its password); the user has no grant yet."""
    name, password = f"ss_check_{secrets.token_hex(4)}", secrets.token_hex(12)
    root = await open_database(mariadb_url)
    await _as_root(root, f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    try:
        yield root, name, password
    finally:
        await _as_root(root, f"DROP USER '{name}'@'%'")
        await root.dispose()


async def _check_as(root: Database, user: str, password: str) -> tuple[str, str]:
    url = make_url(db_url_of(root)).set(username=user, password=password)
    db = await open_database(url.render_as_string(hide_password=False))
    try:
        (finding,) = await privileges_check.run(Target(db=db, url=""))
    finally:
        await db.dispose()
    return finding.status, finding.line()


@pytest.mark.mariadb
async def test_a_restricted_user(restricted: tuple[Database, str, str]) -> None:
    root, user, password = restricted
    database = make_url(db_url_of(root)).database
    await _as_root(root, f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'")
    status, line = await _check_as(root, user, password)
    assert status == "FAIL"
    assert line == (
        f"FAIL privileges: {user}@% lacks INSERT, UPDATE, DELETE on `{database}`.*. To do: "
        f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP ON `{database}`.* "
        f"TO {user}@%"
    )
    await _as_root(root, f"GRANT INSERT, UPDATE, DELETE ON `{database}`.* TO '{user}'@'%'")
    status, line = await _check_as(root, user, password)
    assert status == "WARN"
    assert "lacks CREATE, ALTER, INDEX, DROP" in line
    await _as_root(root, f"GRANT CREATE, ALTER, INDEX, DROP ON `{database}`.* TO '{user}'@'%'")
    status, line = await _check_as(root, user, password)
    assert status == "PASS"


def test_grants_are_read_by_scope() -> None:
    grants = [
        "GRANT USAGE ON *.* TO `cloud`@`%` IDENTIFIED BY PASSWORD '*AB'",
        "GRANT SELECT, INSERT ON `cloud`.* TO `cloud`@`%`",
        "GRANT UPDATE ON `other`.* TO `cloud`@`%`",
        "GRANT DELETE ON `cloud`.`vm_instance` TO `cloud`@`%`",
        "GRANT SELECT (name), UPDATE (name) ON `cloud`.`user` TO `cloud`@`%`",
    ]
    assert privileges_check.granted(grants, "cloud") == {"USAGE", "SELECT", "INSERT"}
    everything = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]
    assert privileges_check.granted(everything, "cloud") >= set(privileges_check.SERVING)
    wildcard = ["GRANT SELECT ON `cloud\\_%`.* TO `x`@`%`"]
    assert privileges_check.granted(wildcard, "cloud_prod") == {"SELECT"}
    assert privileges_check.granted(wildcard, "cloudprod") == set()


async def test_sqlite_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    path.touch()
    # (Tests may run as root, for whom every file is writable: a missing directory is not.)
    missing = tmp_path / "gone" / "cloud.db"
    for where in (path, missing):
        db = await open_database(str(where))
        try:
            (finding,) = await privileges_check.run(Target(db=db, url=str(where)))
        finally:
            await db.dispose()
        if where == path:
            assert finding.line() == (
                "PASS privileges: SQLite file cloud.db and its directory are writable"
            )
        else:
            assert finding.status == "FAIL"
            assert (
                finding.found
                == f"SQLite file {missing} or its directory is not writable by this user"
            )
