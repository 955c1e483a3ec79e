"""Schema drift: the live columns of every legacy table stackshift reads or writes against the
columns it declares (schema_bridge/tables). Missing tables and columns are FAILs; what else
differs is judged in column_drift.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from migrate.checks import Finding, Target
from migrate.checks.column_drift import (
    Live,
    Problem,
    extra_column_problem,
    mysql_type_problem,
    nullability_problems,
    sqlite_type_problem,
)
from migrate.checks.used_tables import used_tables
from schema_bridge.tables import LEGACY_INFO_KEY

NAME = "drift"
LiveTable = dict[str, Live]

_MYSQL_COLUMNS = text(
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA "
    "FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN :names "
    "ORDER BY TABLE_NAME, ORDINAL_POSITION"
).bindparams(bindparam("names", expanding=True))


async def _mysql_tables(conn: AsyncConnection, names: list[str]) -> dict[str, LiveTable]:
    found: dict[str, LiveTable] = {}
    for row in await conn.execute(_MYSQL_COLUMNS, {"names": names}):
        found.setdefault(row.TABLE_NAME, {})[row.COLUMN_NAME] = Live(
            type=row.COLUMN_TYPE,
            nullable=row.IS_NULLABLE == "YES",
            default=row.COLUMN_DEFAULT,
            auto_increment="auto_increment" in row.EXTRA,
        )
    return found


async def _sqlite_tables(conn: AsyncConnection, names: list[str]) -> dict[str, LiveTable]:
    found: dict[str, LiveTable] = {}
    for name in names:
        # PRAGMA takes no bound parameters; the names are our own declarations.
        rows = (await conn.execute(text(f'PRAGMA table_info("{name}")'))).all()
        if rows:
            found[name] = {
                r[1]: Live(type=r[2], nullable=not r[3], default=r[4], auto_increment=bool(r[5]))
                for r in rows
            }
    return found


def _declared_type(column: Any, backend: str) -> str:
    if backend == "sqlite":
        return str(column.type.compile(dialect=sqlite.dialect()))
    return str(column.info[LEGACY_INFO_KEY]["type"])


def _column_problems(table: Table, live: LiveTable, backend: str) -> list[tuple[str, Problem]]:
    problems: list[tuple[str, Problem]] = []
    for column in table.columns:
        got = live.get(column.name)
        if got is None:
            problems.append((column.name, Problem("FAIL", "is missing")))
            continue
        declared = _declared_type(column, backend)
        compare = sqlite_type_problem if backend == "sqlite" else mysql_type_problem
        typed = compare(declared, got.type)
        facts = column.info[LEGACY_INFO_KEY]
        found = [typed] if typed else []
        found += nullability_problems(facts["nullable"], facts["default"], got, column.primary_key)
        problems += [(column.name, p) for p in found]
    for name in sorted(set(live) - set(table.columns.keys())):
        problems.append((name, extra_column_problem(live[name])))
    return problems


_WHAT_TO_DO = {
    "FAIL": "restore the column as CloudStack defines it (compare with a fresh install of the "
    "same version), or run stackshift on a version it declares",
    "WARN": "",
}


async def run(target: Target) -> list[Finding]:
    used = used_tables()
    tables = used.tables
    names = [t.name for t in tables]
    read = _sqlite_tables if target.db.backend == "sqlite" else _mysql_tables
    async with target.db.engine.connect() as conn:
        live = await read(conn, names)
    findings = []
    for table in tables:
        if table.name not in live:
            findings.append(
                Finding("FAIL", NAME, f"table {table.name} is missing", _WHAT_TO_DO["FAIL"])
            )
            continue
        for column, problem in _column_problems(table, live[table.name], target.db.backend):
            text_ = f"{table.name}.{column} {problem.text}"
            findings.append(Finding(problem.status, NAME, text_, _WHAT_TO_DO[problem.status]))
    if used.unimportable:
        findings.append(
            Finding(
                "WARN",
                NAME,
                f"could not import {', '.join(used.unimportable)}: the tables they use are "
                "not checked",
                "reinstall stackshift",
            )
        )
    if not any(f.status == "FAIL" for f in findings):
        findings.insert(
            0,
            Finding(
                "PASS",
                NAME,
                f"the {len(tables)} legacy tables stackshift reads or writes have every "
                "column it declares, with compatible types",
            ),
        )
    return findings
