"""The `ssh_keypairs` table as listSSHKeyPairs reads it (public data only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.comments import annotated
from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import account, domain, projects, ssh_keypairs

PROJECT_ACCOUNT_TYPE = 5


@dataclass(frozen=True)
class KeypairFilter:
    id: int | None = None
    name: str | None = None
    fingerprint: str | None = None
    keyword: str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True
    # Whether admin-only annotations count towards `hasannotations` (root admins see them).
    admin_annotations: bool = False


def _base_query(admin_annotations: bool) -> Select[Any]:
    # The public key stays out of the select: nothing listed needs it.
    return (
        select(
            ssh_keypairs.c.id,
            ssh_keypairs.c.uuid,
            ssh_keypairs.c.keypair_name,
            ssh_keypairs.c.fingerprint,
            ssh_keypairs.c.account_id,
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
            annotated(ssh_keypairs.c.uuid, "SSH_KEYPAIR", admin_annotations).label(
                "has_annotations"
            ),
        )
        .select_from(ssh_keypairs.join(account, account.c.id == ssh_keypairs.c.account_id))
        .join(domain, domain.c.id == ssh_keypairs.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == ssh_keypairs.c.account_id)
        .order_by(ssh_keypairs.c.id.desc())
    )


def _keypairs_query(f: KeypairFilter) -> Select[Any]:
    query = _base_query(f.admin_annotations)
    for column, wanted in (
        (ssh_keypairs.c.id, f.id),
        (ssh_keypairs.c.keypair_name, f.name),
        (ssh_keypairs.c.fingerprint, f.fingerprint),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.keyword:
        pattern = like_escape(f.keyword)
        columns = (ssh_keypairs.c.keypair_name, ssh_keypairs.c.fingerprint)
        query = query.where(or_(*(c.like(pattern, escape="\\") for c in columns)))
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(
        query, ssh_keypairs.c.account_id, ssh_keypairs.c.domain_id, f.account_ids, f.domain_ids
    )


async def keypairs_page(
    conn: AsyncConnection, f: KeypairFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _keypairs_query(f), offset, limit)


async def keypair_id_by_uuid(conn: AsyncConnection, uuid: str) -> int | None:
    found = await conn.scalar(select(ssh_keypairs.c.id).where(ssh_keypairs.c.uuid == uuid))
    return None if found is None else int(found)
