"""The `tag` response object."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.caller import pretty_path

SHAPE = shapes.of("listTags")
PROJECT_TYPE = 5


def present(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_TYPE
    values: dict[str, Any] = {
        "key": row.key,
        "value": row.value,
        "resourcetype": row.resource_type,
        "resourceid": row.resource_uuid,
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
        "customer": row.customer,
    }
    return SHAPE.build(values)
