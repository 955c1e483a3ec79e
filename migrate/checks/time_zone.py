"""The time zone: CloudStack stores UTC.

stackshift's sessions set time_zone '+00:00'. CloudStack's sessions keep the server's zone,
so on a server not in UTC the columns that default to CURRENT_TIMESTAMP get local time in
rows the legacy side writes and UTC in rows stackshift writes.
"""

from __future__ import annotations

from sqlalchemy import text

from migrate.checks import Finding, Target

NAME = "time_zone"
UTC_NAMES = {"+00:00", "UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Zulu"}


async def run(target: Target) -> list[Finding]:
    if target.db.backend == "sqlite":
        return [Finding("PASS", NAME, "SQLite stores what stackshift writes: UTC")]
    async with target.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT @@SESSION.time_zone, @@GLOBAL.time_zone, @@system_time_zone")
            )
        ).one()
    session, server, system = (str(v) for v in row)
    if session not in UTC_NAMES:
        return [
            Finding(
                "FAIL",
                NAME,
                f"stackshift's sessions run in time zone {session}, not UTC",
                "let the connection's init command through (a proxy may drop it)",
            )
        ]
    effective = system if server == "SYSTEM" else server
    if effective not in UTC_NAMES:
        return [
            Finding(
                "WARN",
                NAME,
                f"the server's default time zone is {effective}: columns defaulting to "
                "CURRENT_TIMESTAMP get local time in rows the legacy server writes",
                "set default-time-zone='+00:00' in the server's configuration",
            )
        ]
    return [Finding("PASS", NAME, f"UTC (server default {effective}, sessions {session})")]
