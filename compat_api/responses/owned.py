"""The owner fields every account-owned response carries (account or project, domain)."""

from __future__ import annotations

from typing import Any

from compat_api.caller import pretty_path

PROJECT_TYPE = 5


def owner(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_TYPE
    return {
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
    }
