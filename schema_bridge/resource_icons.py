"""Resource icons (`resource_icon`): the base64 images the UI shows beside resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import table

resource_icon = table("resource_icon")


async def icons_of(
    conn: AsyncConnection, resource_type: str, resource_uuids: Sequence[str]
) -> list[Any]:
    """The live icons of the named resources of one type, oldest first."""
    if not resource_uuids:
        return []
    r = resource_icon.c
    query = (
        select(r.resource_type, r.resource_uuid, r.icon)
        .where(
            r.resource_type == resource_type,
            r.resource_uuid.in_(list(resource_uuids)),
            r.removed.is_(None),
        )
        .order_by(r.id)
    )
    return list((await conn.execute(query)).all())
