"""listAlerts: the system alerts the admin dashboard shows beside the events."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import alerts

ALERT = shapes.Shape("alert", facts_for("listAlerts").response_field_names, {})


def _present(row: Any) -> dict[str, Any]:
    return ALERT.build(
        {
            "id": row.uuid,
            "type": int(row.type),
            "name": row.name,
            "description": row.subject,
            "sent": row.last_sent,
        }
    )


async def list_alerts(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    raw_type = args.get("type")
    kind = str(raw_type) if raw_type is not None else None
    numeric = kind is not None and kind.lstrip("-").isdigit()
    f = alerts.AlertFilter(
        id=args.get("id"),
        type=int(kind) if kind is not None and numeric else None,
        name=args.get("name"),
        keyword=args.get("keyword"),
        impossible=kind is not None and not numeric,
    )
    async with ctx.db.engine.connect() as conn:
        page = await alerts.alerts(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, ALERT.name)


COMMANDS: list[Command] = [
    declare(
        "listAlerts",
        subsystem="infra",
        handler=list_alerts,
        roles=ADMINS,
        summary="System alerts that are not archived, most recently sent first.",
    ),
]
