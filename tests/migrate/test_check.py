"""`stackshift check` as operators run it: one line per finding, exit status 1 on any FAIL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from migrate import schema
from migrate.check import CHECKS
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import db_url_of
from tests.compat_api.ops import servers
from tests.compat_api.test_cli import free_port
from tests.conftest import TEST_ENCRYPTION_KEY

LINE = r"^(PASS|WARN|FAIL) [a-z_]+: "


async def test_a_healthy_database_passes(seeded_db: tuple[Database, SeedResult]) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(schema.upgrade, url)
    done = await asyncio.to_thread(servers.cli, "check", "--db", url)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    names = {line.split(":")[0].split()[1] for line in lines}
    assert names >= {name for name, _ in CHECKS if name != "legacy_api"}
    assert all(line.startswith("PASS ") for line in lines), lines


async def test_any_fail_exits_1(legacy_db: Database) -> None:
    url = db_url_of(legacy_db)
    async with legacy_db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE instance_group DROP COLUMN created"))
    done = await asyncio.to_thread(servers.cli, "check", "--db", url)
    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert any(
        line.startswith("FAIL version: ") and "empty CloudStack `version` table" in line
        for line in lines
    )
    assert "FAIL drift: instance_group.created is missing. To do: restore the column" in done.stdout
    assert any(
        line.startswith("WARN own_schema: stackshift's tables are not created yet")
        for line in lines
    )
    assert done.stderr == ""


async def test_an_unreachable_database() -> None:
    url = f"mysql://root@127.0.0.1:{free_port()}/cloud"
    done = await asyncio.to_thread(servers.cli, "check", "--db", url)
    assert done.returncode == 1
    assert done.stdout.startswith(
        f"FAIL database: cannot connect to mysql+asyncmy://root@127.0.0.1:{url.split(':')[2]}"
    )
    assert done.stdout.rstrip().endswith(
        "To do: check the URL, the credentials and that the server is running"
    )
    assert len(done.stdout.splitlines()) == 1


async def test_with_the_legacy_api(
    seeded_db: tuple[Database, SeedResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second stackshift serves as the legacy management server; the keys come from the
    database, decrypted with the key in --encryption-key-file."""
    db, _ = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(schema.upgrade, url)
    port = free_port()
    legacy = servers.start(url, port, tmp_path / "legacy.log", "--workers", "1")
    try:
        await asyncio.to_thread(servers.wait_ready, legacy)
        monkeypatch.delenv("STACKSHIFT_ENCRYPTION_KEY", raising=False)
        key = tmp_path / "key"
        key.write_text(TEST_ENCRYPTION_KEY + "\n")
        done = await asyncio.to_thread(
            servers.cli, "check", "--db", url, "--legacy-url", f"http://127.0.0.1:{port}",
            "--encryption-key-file", str(key),
        )  # fmt: skip
    finally:
        legacy.terminate()
        legacy.kill()
    assert done.returncode == 0, done.stdout
    assert (
        f"PASS legacy_api: CloudStack 4.20.2.0 answers at http://127.0.0.1:{port}/client/api"
        in done.stdout
    )
    assert "PASS legacy_api: listApis: " in done.stdout
