"""The `sshkeypair` response object: name and fingerprint, never key material."""

from __future__ import annotations

from typing import Any

from compat_api import shapes

SHAPE = shapes.of("listSSHKeyPairs")
PROJECT_TYPE = 5


def present(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_TYPE
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.keypair_name,
        "account": None if project else row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "fingerprint": row.fingerprint,
        "hasannotations": bool(row.has_annotations),
    }
    return SHAPE.build(values)
