"""listResourceIcon: the icons uploaded for resources, which every 4.16+ UI view asks for."""

from __future__ import annotations

from typing import Any

from compat_api import errors, shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import resource_icons, tag_rows

ICON = shapes.Shape("icon", facts_for("listResourceIcon").response_field_names, {})


def _text(icon: bytes | str | None) -> str | None:
    """The stored image: a base64 string kept in a blob column."""
    if isinstance(icon, bytes | bytearray | memoryview):
        return bytes(icon).decode("ascii", errors="replace")
    return icon


async def list_resource_icon(ctx: CallContext, args: dict[str, Any]) -> Result:
    raw_type = str(args["resourcetype"])
    kind = tag_rows.canonical_type(raw_type)
    if kind is None:
        raise errors.invalid_parameter(f"Invalid resource type: {raw_type}")
    wanted = [str(ref) for ref in args.get("resourceids") or ()]
    # As upstream, an icon is answered to whoever names its resource: icons are decoration,
    # and the UI shows zone, domain and template icons to callers that do not own them.
    async with ctx.db.engine.connect() as conn:
        rows = await resource_icons.icons_of(conn, kind, wanted)
    items = [
        ICON.build(
            {
                "resourcetype": row.resource_type,
                "resourceid": row.resource_uuid,
                "base64image": _text(row.icon),
            }
        )
        for row in rows
    ]
    return ListResult(items, len(items), ICON.name)


COMMANDS: list[Command] = [
    declare(
        "listResourceIcon",
        subsystem="infra",
        handler=list_resource_icon,
        summary="The icons uploaded for the named resources of one type, as base64 images.",
    ),
]
