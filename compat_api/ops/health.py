"""Liveness and readiness.

/healthz answers as long as the process serves HTTP, touching nothing else: a load balancer
or supervisor restarts on it. /readyz says whether this process should get traffic: the
database answers and the process is not draining. A down legacy server or stuck jobs are
reported but do not make it unready, since every instance would then leave rotation at once
over a problem that restarting them cannot fix.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import asdict

import aiohttp
from aiohttp import web
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from yarl import URL

from compat_api.ops.runtime import OPS
from compat_api.ops.snapshot import Check, Health, JobPicture, job_picture
from compat_api.ops.stuck import StuckRules
from schema_bridge.db import Database

DB_TIMEOUT = 2.0
LEGACY_TIMEOUT = 2.0
JOBS_TIMEOUT = 3.0


def _reason(exc: BaseException) -> str:
    """One short line naming the problem; SQL and driver noise left out."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first[:200]}" if first else type(cause).__name__


def database_target(db: Database) -> str:
    """Where the database is, without user or password."""
    url = make_url(db.display_url)
    if db.backend == "sqlite":
        return f"sqlite {url.database}"
    return f"{db.backend} {url.host}:{url.port or 3306}/{url.database}"


def legacy_target(url: str) -> str:
    try:
        parsed = URL(url)
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "(unparsable URL)"


def scrubbed(text: str, url: str) -> str:
    """An error text without the URL's credentials, whatever the library put in it."""
    try:
        parsed = URL(url)
        secrets = [s for s in (parsed.password, parsed.user) if s]
    except (ValueError, TypeError):
        return "the legacy URL is not a valid URL"
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


async def check_database(db: Database) -> Check:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DB_TIMEOUT):
            async with db.reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return Check(False, None, f"no answer within {DB_TIMEOUT:.0f} s", database_target(db))
    except Exception as exc:  # any failure to reach the database is the answer, not a crash
        return Check(False, None, _reason(exc), database_target(db))
    latency = round((time.perf_counter() - started) * 1000, 2)
    return Check(True, latency, None, database_target(db))


async def check_legacy(url: str) -> Check:
    """Reachable means it answers HTTP below 500; signing a real call is not needed for that."""
    started = time.perf_counter()
    target = legacy_target(url)
    timeout = aiohttp.ClientTimeout(total=LEGACY_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        reason = _reason(exc) if str(exc) else "no answer"
        return Check(False, None, scrubbed(reason, url), target)
    latency = round((time.perf_counter() - started) * 1000, 2)
    if status >= 500:
        return Check(False, latency, f"answered HTTP {status}", target)
    return Check(True, latency, None, target)


async def assess(
    db: Database, draining: bool, legacy_url: str | None, rules: StuckRules
) -> tuple[Health, JobPicture | None]:
    """The health verdict and the job picture it was judged on (shown by /status too)."""
    database, legacy = await asyncio.gather(
        check_database(db), check_legacy(legacy_url) if legacy_url else _none()
    )
    problems = []
    if draining:
        problems.append("draining: finishing requests in flight, then stopping")
    if not database.ok:
        problems.append(f"database unreachable: {database.error}")
    if legacy is not None and not legacy.ok:
        problems.append(f"legacy server unreachable at {legacy.target}: {legacy.error}")
    picture = None
    if database.ok:
        try:
            picture = await asyncio.wait_for(job_picture(db, rules), JOBS_TIMEOUT)
        except Exception as exc:  # the verdict stands on the database check alone
            problems.append(f"job queue unreadable: {_reason(exc)}")
    if picture is not None and picture.stuck:
        problems.append(f"{len(picture.stuck)} stuck jobs: see `stackshift jobs --stuck`")
    health = Health(
        ready=database.ok and not draining,
        draining=draining,
        database=database,
        legacy=legacy,
        jobs=picture.summary() if picture else None,
        problems=problems,
    )
    return health, picture


async def _none() -> None:
    return None


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})


async def readyz(request: web.Request) -> web.Response:
    ops = request.app[OPS]
    state = ops.state(request.app)
    health, _ = await assess(state.db, ops.drain.draining, ops.settings.legacy_url, ops.rules)
    body = asdict(health)
    body["instance"] = {
        "msid": state.engine.msid if state.engine else None,
        "pid": os.getpid(),
    }
    return web.json_response(
        body, status=200 if health.ready else 503, headers={"Cache-Control": "no-store"}
    )
