"""The database user's privileges: what stackshift needs on the CloudStack database.

Serving needs SELECT, INSERT, UPDATE and DELETE on every table; upgrading stackshift's own
tables (migrate/alembic) also needs CREATE, ALTER, INDEX and DROP. Read from SHOW GRANTS:
global (`*.*`) and database-level grants count, including wildcard database names; grants on
single tables are not enough for the tables stackshift creates later.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import text

from migrate.checks import Finding, Target

NAME = "privileges"
SERVING = ("SELECT", "INSERT", "UPDATE", "DELETE")
UPGRADING = ("CREATE", "ALTER", "INDEX", "DROP")
_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<scope>\S+) TO ", re.IGNORECASE)


def _unquote(name: str) -> str:
    return name.strip("`").replace("``", "`")


def _matches(pattern: str, database: str) -> bool:
    """A database-level grant's name, with LIKE wildcards (`\\_` is a literal underscore)."""
    regex = ""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            regex += re.escape(pattern[index + 1])
            index += 2
            continue
        regex += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        index += 1
    return re.fullmatch(regex, database) is not None


def granted(grants: list[str], database: str) -> set[str]:
    """The privileges that `grants` give on every table of `database`."""
    found: set[str] = set()
    for line in grants:
        match = _GRANT.match(line)
        if match is None:
            continue
        scope_db, _, scope_table = match["scope"].partition(".")
        if scope_table != "*" or not (scope_db == "*" or _matches(_unquote(scope_db), database)):
            continue
        for privilege in match["privileges"].split(","):
            name = privilege.strip().upper()
            if name.startswith("ALL"):
                found.update(SERVING + UPGRADING)
            elif "(" not in name:  # column-level grants cover one column only
                found.add(name)
    return found


async def _sqlite(target: Target) -> list[Finding]:
    path = Path(target.db.engine.url.database or "")
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return [Finding("PASS", NAME, f"SQLite file {path.name} and its directory are writable")]
    return [
        Finding(
            "FAIL",
            NAME,
            f"SQLite file {path} or its directory is not writable by this user",
            "run stackshift as the file's owner (SQLite also writes -wal and -shm files beside it)",
        )
    ]


async def run(target: Target) -> list[Finding]:
    if target.db.backend == "sqlite":
        return await _sqlite(target)
    async with target.db.engine.connect() as conn:
        database = str(await conn.scalar(text("SELECT DATABASE()")))
        user = str(await conn.scalar(text("SELECT CURRENT_USER()")))
        grants = [str(row[0]) for row in await conn.execute(text("SHOW GRANTS"))]
    have = granted(grants, database)
    missing_serving = [p for p in SERVING if p not in have]
    missing_upgrading = [p for p in UPGRADING if p not in have]
    if missing_serving:
        return [
            Finding(
                "FAIL",
                NAME,
                f"{user} lacks {', '.join(missing_serving)} on `{database}`.*",
                f"GRANT {', '.join(SERVING + UPGRADING)} ON `{database}`.* TO {user}",
            )
        ]
    if missing_upgrading:
        return [
            Finding(
                "WARN",
                NAME,
                f"{user} can serve but lacks {', '.join(missing_upgrading)} on "
                f"`{database}`.*, which upgrading stackshift's own tables needs",
                f"GRANT {', '.join(UPGRADING)} ON `{database}`.* TO {user} before the next "
                "`stackshift db upgrade`",
            )
        ]
    return [Finding("PASS", NAME, f"{user} has {', '.join(SERVING + UPGRADING)} on `{database}`")]
