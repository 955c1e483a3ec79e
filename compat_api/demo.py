"""Preparing a database to serve: the demo seed, our own tables, and the login banner."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from sqlalchemy import select

from migrate import schema as own_schema
from migrate import upgrade as own_upgrade
from schema_bridge import encryption
from schema_bridge.db import Database, create_database_if_missing, open_database
from schema_bridge.seed import init_database, is_initialised
from schema_bridge.tables import user
from schema_bridge.version import UnsupportedSchema, check_schema


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    password: str | None
    api_key: str
    secret_key: str


async def _existing_admin(db: Database, key: str | None) -> list[Login]:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(select(user.c.api_key, user.c.secret_key).where(user.c.id == 2))
        ).first()
    if row is None or not row.api_key or not row.secret_key:
        return []
    return [
        Login("root admin", "admin", None, row.api_key, encryption.decrypt(row.secret_key, key))
    ]


async def prepare(
    db_url: str, hosts: int, key: str | None, must_be_new: bool = False
) -> list[Login]:
    """Seed the database when it is new; bring our own tables up to date either way."""
    if "://" in db_url and not db_url.startswith("sqlite"):
        await create_database_if_missing(db_url)
    db = await open_database(db_url)
    try:
        if await is_initialised(db):
            if must_be_new:
                raise SystemExit(f"stackshift: {db.display_url} already holds a CloudStack schema")
            logins = await _existing_admin(db, key)
        else:
            seeded = await init_database(db, hosts=hosts, encryption_key=key)
            logins = [
                Login(role, c.username, c.password, c.api_key, c.secret_key)
                for role, c in (
                    ("root admin", seeded.identity.admin),
                    ("domain admin", seeded.identity.domain_admin),
                    ("user", seeded.identity.user),
                )
            ]
    finally:
        await db.dispose()
    await asyncio.to_thread(own_schema.upgrade, db_url)
    return logins


async def check_database(db_url: str, dead_after_seconds: float = 15.0) -> str | None:
    """One clear line when the database cannot be served; None when it can. Our own tables
    get their expand revisions on the way (migrate/upgrade.py)."""
    try:
        db = await open_database(db_url)
    except ValueError as error:
        return str(error)
    try:
        async with db.engine.connect() as conn:
            await check_schema(conn)
    except UnsupportedSchema as error:
        return str(error)
    except Exception as error:
        return f"cannot reach database {db.display_url}: {error}"
    finally:
        await db.dispose()
    problem, note = await asyncio.to_thread(own_upgrade.on_start, db_url, dead_after_seconds)
    if note:
        print(f"stackshift: {note}", file=sys.stderr)
    return problem


def banner(logins: list[Login], host: str | None, port: int | None) -> str:
    lines = ["stackshift demo cloud"]
    endpoint = f"http://{host}:{port}/client/api" if host and port else None
    if endpoint:
        lines.append(f"  API endpoint : {endpoint}")
    for login in logins:
        password = login.password or "(unchanged since seeding)"
        lines += [
            f"  {login.role:<13}: {login.username} / {password}",
            f"    api key    : {login.api_key}",
            f"    secret key : {login.secret_key}",
        ]
    if endpoint and logins:
        admin = logins[0]
        lines += [
            "",
            "  cs client configuration (~/.cs.ini):",
            "    [cloudstack]",
            f"    endpoint = {endpoint}",
            f"    key = {admin.api_key}",
            f"    secret = {admin.secret_key}",
        ]
    return "\n".join(lines)
