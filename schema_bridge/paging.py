"""A page of rows plus the total count, as every list command answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, func, over, select
from sqlalchemy.ext.asyncio import AsyncConnection

TOTAL = "ss_total_rows"


@dataclass(frozen=True)
class Page:
    rows: list[Row[Any]]
    total: int


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], offset: int, limit: int | None
) -> Page:
    """The slice and the total in one round trip: COUNT(*) OVER () is computed before LIMIT.

    Only a page past the end (no rows come back) needs a second query for the total.
    """
    counted = query.add_columns(over(func.count()).label(TOTAL))
    if offset:
        counted = counted.offset(offset)
    if limit is not None:
        counted = counted.limit(limit)
    rows = list((await conn.execute(counted)).all())
    if rows:
        return Page(rows, int(rows[0]._mapping[TOTAL]))
    if offset == 0:
        return Page([], 0)
    count = select(func.count()).select_from(query.order_by(None).subquery())
    return Page([], int((await conn.execute(count)).scalar_one()))


def like_escape(keyword: str) -> str:
    """`%keyword%` with LIKE wildcards in the keyword taken literally."""
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
