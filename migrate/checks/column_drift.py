"""How one live column differs from the column stackshift declares, and how much it matters.

A difference is harmless (WARN) when everything stackshift writes still fits and everything it
reads still means the same: a wider integer or string, a nullable column stackshift always
fills. It is a FAIL when a write would be refused or truncated, or a value would read back as
something else: a narrower type, another kind of type, NOT NULL where stackshift writes NULL,
a lost default on a NOT NULL column that inserts leave out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrate.checks import Status

_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "bigint")
_TEXTS = ("tinytext", "text", "mediumtext", "longtext")
_SIZED = re.compile(r"^(varchar|char|varbinary|binary)\((\d+)\)$")
_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")


@dataclass(frozen=True)
class Live:
    """A column as the database describes it."""

    type: str
    nullable: bool
    # None: no default; "NULL": an explicit NULL default; else the SQL literal.
    default: str | None
    auto_increment: bool = False


@dataclass(frozen=True)
class Problem:
    status: Status
    text: str


def _integer(column_type: str) -> tuple[int, bool] | None:
    base = _WIDTH.sub(r"\1", column_type).split()
    if not base or base[0] not in _INTEGERS:
        return None
    return _INTEGERS.index(base[0]), "unsigned" in base


def normalise_mysql_type(column_type: str) -> str:
    """MySQL 8 prints `bigint unsigned` where MariaDB prints `bigint(20) unsigned`; the
    display width changes nothing stored."""
    return _WIDTH.sub(r"\1", column_type.strip().lower())


def _wider_or_equal(declared: str, live: str) -> bool | None:
    """True/False when both are of one kind and the live one holds everything declared;
    None when they are of different kinds."""
    want_int, got_int = _integer(declared), _integer(live)
    if want_int and got_int:
        if want_int[1] == got_int[1]:
            return got_int[0] >= want_int[0]
        # unsigned -> signed of a strictly larger size still holds every value.
        return want_int[1] and got_int[0] > want_int[0]
    want_size, got_size = _SIZED.match(declared), _SIZED.match(live)
    if want_size and got_size and want_size.group(1) == got_size.group(1):
        return int(got_size.group(2)) >= int(want_size.group(2))
    if declared in _TEXTS and live in _TEXTS:
        return _TEXTS.index(live) >= _TEXTS.index(declared)
    return None


def mysql_type_problem(declared: str, live: str) -> Problem | None:
    want, got = normalise_mysql_type(declared), normalise_mysql_type(live)
    if want == got:
        return None
    holds = _wider_or_equal(want, got)
    if holds:
        return Problem("WARN", f"is {live}, wider than the declared {declared} (harmless)")
    what = "narrower than" if holds is False else "another type than"
    return Problem("FAIL", f"is {live}, {what} the declared {declared}")


def sqlite_affinity(declared: str) -> str:
    """SQLite's type affinity rules (https://www.sqlite.org/datatype3.html, 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def sqlite_type_problem(declared: str, live: str) -> Problem | None:
    if declared.upper() == live.upper():
        return None
    if sqlite_affinity(declared) == sqlite_affinity(live):
        # SQLite enforces no lengths: only the affinity changes what is stored.
        return Problem("WARN", f"is {live}, declared {declared} (same affinity: harmless)")
    return Problem("FAIL", f"is {live} ({sqlite_affinity(live)} affinity), declared {declared}")


def _has_default(default: str | None) -> bool:
    return default not in (None, "NULL")


def nullability_problems(
    declared_nullable: bool, declared_default: str | None, live: Live, primary_key: bool
) -> list[Problem]:
    if primary_key:
        return []
    problems = []
    if declared_nullable and not live.nullable:
        problems.append(Problem("FAIL", "is NOT NULL but stackshift may write NULL there"))
    if not declared_nullable and live.nullable:
        problems.append(
            Problem("WARN", "accepts NULL where stackshift expects a value; it always writes one")
        )
    if _has_default(declared_default) and not live.nullable and not _has_default(live.default):
        problems.append(
            Problem("FAIL", "has lost its default, so inserts that leave it out are refused")
        )
    return problems


def extra_column_problem(live: Live) -> Problem:
    if not live.nullable and not _has_default(live.default) and not live.auto_increment:
        return Problem(
            "FAIL",
            "is an extra NOT NULL column without a default: inserts stackshift makes "
            "leave it out and are refused",
        )
    return Problem("WARN", "is an extra column stackshift does not know (left alone)")
