"""The SQL mode stackshift's sessions run with, beside the server's default.

CloudStack sets its session sql_mode in db.properties (the same strict list stackshift's
connections set, schema_bridge/db.py); a session that ends up with another mode, e.g. behind a
proxy that drops the init command, writes rows CloudStack would have refused.
"""

from __future__ import annotations

from sqlalchemy import text

from migrate.checks import Finding, Target
from schema_bridge.db import MYSQL_INIT_COMMAND

NAME = "sql_mode"


def expected_modes() -> set[str]:
    quoted = MYSQL_INIT_COMMAND.split("sql_mode=", 1)[1]
    return set(quoted.strip("'").split(","))


async def run(target: Target) -> list[Finding]:
    if target.db.backend == "sqlite":
        return [Finding("PASS", NAME, "SQLite has no SQL mode")]
    async with target.db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT @@SESSION.sql_mode, @@GLOBAL.sql_mode"))).one()
    session = set(filter(None, str(row[0]).split(",")))
    missing = sorted(expected_modes() - session)
    if missing:
        return [
            Finding(
                "FAIL",
                NAME,
                f"stackshift's sessions run without {','.join(missing)} (session mode: "
                f"{row[0] or 'empty'})",
                "let the connection's init command through (a proxy may drop it) or set "
                "sql_mode in the server's configuration to CloudStack's strict list",
            )
        ]
    return [
        Finding(
            "PASS", NAME, f"sessions run with CloudStack's strict mode (server default: {row[1]})"
        )
    ]
