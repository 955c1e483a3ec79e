"""The `event` response object."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.caller import pretty_path

SHAPE = shapes.of("listEvents")
PROJECT_TYPE = 5


def present(row: Any, resource: tuple[str | None, str | None] | None) -> dict[str, Any]:
    """`resource`: the (uuid, name) of the resource the event names, when it still resolves."""
    project = int(row.account_type) == PROJECT_TYPE
    uuid, name = resource if resource is not None else (None, None)
    values: dict[str, Any] = {
        "id": row.uuid,
        "username": row.username,
        "type": row.type,
        "level": row.level,
        "description": row.description,
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
        "resourceid": uuid,
        "resourcetype": row.resource_type,
        "resourcename": name,
        "created": row.created,
        "state": row.state,
        "parentid": row.start_uuid,
        # Only archived events carry the flag; the others leave it out.
        "archived": True if row.archived else None,
    }
    return SHAPE.build(values)
