"""Resource limits and counts: `resource_limit`, `resource_count` and the max.* defaults.

Rows are returned as stored (storage limits in bytes); deciding which limit applies to an
owner is the API layer's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import configuration
from schema_bridge.tables import domain, resource_count, resource_limit


@dataclass(frozen=True)
class LimitRow:
    id: int
    account_id: int | None
    domain_id: int | None
    type: str
    max: int
    tag: str | None


def _limit(row: Row[Any]) -> LimitRow:
    id_, account_id, domain_id, kind, max_, tag = tuple(row)
    return LimitRow(int(id_), account_id, domain_id, str(kind), int(max_), tag)


def _columns() -> Select[Any]:
    return select(
        resource_limit.c.id,
        resource_limit.c.account_id,
        resource_limit.c.domain_id,
        resource_limit.c.type,
        resource_limit.c.max,
        resource_limit.c.tag,
    ).order_by(resource_limit.c.id)


def _limit_query(tag: str | None) -> Select[Any]:
    tag_filter = resource_limit.c.tag.is_(None) if tag is None else resource_limit.c.tag == tag
    return _columns().where(tag_filter)


async def account_limits(
    conn: AsyncConnection, account_ids: Iterable[int], tag: str | None = None
) -> list[LimitRow]:
    """Explicit limit rows of these accounts (untagged unless `tag` is given)."""
    wanted = list(account_ids)
    if not wanted:
        return []
    query = _limit_query(tag).where(resource_limit.c.account_id.in_(wanted))
    return [_limit(row) for row in (await conn.execute(query)).all()]


async def domain_limits(
    conn: AsyncConnection, domain_ids: Iterable[int], tag: str | None = None
) -> list[LimitRow]:
    """Explicit limit rows of these domains (rows that name no account)."""
    wanted = list(domain_ids)
    if not wanted:
        return []
    query = _limit_query(tag).where(
        resource_limit.c.domain_id.in_(wanted), resource_limit.c.account_id.is_(None)
    )
    return [_limit(row) for row in (await conn.execute(query)).all()]


async def limit_by_id(conn: AsyncConnection, limit_id: int) -> LimitRow | None:
    query = _columns().where(resource_limit.c.id == limit_id)
    row = (await conn.execute(query)).first()
    return None if row is None else _limit(row)


async def account_counts(
    conn: AsyncConnection, account_ids: Iterable[int]
) -> dict[int, dict[str, int]]:
    """Untagged `resource_count` values: account id → resource type → count."""
    wanted = list(account_ids)
    out: dict[int, dict[str, int]] = {account_id: {} for account_id in wanted}
    if not wanted:
        return out
    query = select(
        resource_count.c.account_id, resource_count.c.type, resource_count.c.count
    ).where(resource_count.c.account_id.in_(wanted), resource_count.c.tag.is_(None))
    for account_id, kind, count in (await conn.execute(query)).all():
        out[int(account_id)][str(kind)] = int(count)
    return out


async def defaults(conn: AsyncConnection, names: Iterable[str]) -> dict[str, int | None]:
    """The max.* settings that exist in `configuration` (None when unset or unreadable)."""
    raw = await configuration.values(conn, names)
    out: dict[str, int | None] = {}
    for name, value in raw.items():
        try:
            out[name] = None if value is None else int(value)
        except ValueError:
            out[name] = None
    return out


async def domain_parents(conn: AsyncConnection, domain_id: int) -> list[int]:
    """`domain_id` and every domain above it, nearest first."""
    chain: list[int] = []
    current: int | None = domain_id
    while current is not None and current not in chain:
        chain.append(current)
        found = await conn.scalar(select(domain.c.parent).where(domain.c.id == current))
        current = None if found is None else int(found)
    return chain
