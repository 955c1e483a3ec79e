"""`stackshift check`: run every preflight check and print one line per finding.

The checks run in order; one that cannot run (an error reading the database, say) is a FAIL
of its own and does not stop the others. A database that cannot be reached at all stops
everything after that first line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import text

from migrate.checks import (
    Finding,
    Target,
    clock,
    drift,
    legacy_api,
    mshost,
    own_schema,
    privileges,
    sql_mode,
    time_zone,
    version,
)

Check = Callable[[Target], Awaitable[list[Finding]]]
CHECKS: tuple[tuple[str, Check], ...] = (
    (version.NAME, version.run),
    (drift.NAME, drift.run),
    (privileges.NAME, privileges.run),
    (sql_mode.NAME, sql_mode.run),
    (time_zone.NAME, time_zone.run),
    (clock.NAME, clock.run),
    (mshost.NAME, mshost.run),
    (own_schema.NAME, own_schema.run),
    (legacy_api.NAME, legacy_api.run),
)


def _error_text(error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}"[:300]


async def _reachable(target: Target) -> Finding | None:
    try:
        async with target.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect is the finding
        return Finding(
            "FAIL",
            "database",
            f"cannot connect to {target.db.display_url}: {_error_text(error)}",
            "check the URL, the credentials and that the server is running",
        )
    return None


async def run_checks(target: Target) -> list[Finding]:
    unreachable = await _reachable(target)
    if unreachable is not None:
        return [unreachable]
    findings: list[Finding] = []
    for name, check in CHECKS:
        try:
            findings += await check(target)
        except Exception as error:  # a check that cannot run is reported, not a traceback
            findings.append(
                Finding(
                    "FAIL",
                    name,
                    f"could not run: {_error_text(error)}",
                    "report this as a stackshift bug",
                )
            )
    return findings


def exit_status(findings: list[Finding]) -> int:
    return 1 if any(f.status == "FAIL" for f in findings) else 0
