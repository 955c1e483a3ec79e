"""Global settings from the legacy `configuration` table."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import configuration


async def values(conn: AsyncConnection, names: Iterable[str]) -> dict[str, str | None]:
    """The current value (or, when unset, the default value) of each named setting."""
    wanted = list(names)
    query = select(
        configuration.c.name, configuration.c.value, configuration.c.default_value
    ).where(configuration.c.name.in_(wanted))
    found = {
        name: value if value is not None else default
        for name, value, default in await _rows(conn, query)
    }
    return {name: found.get(name) for name in wanted}


async def _rows(conn: AsyncConnection, query: object) -> list[tuple[str, str | None, str | None]]:
    result = await conn.execute(query)  # type: ignore[call-overload]
    return [tuple(row) for row in result.all()]
