"""The `resource_tags` table as listTags reads it, with each tag's owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page
from schema_bridge.scoping import restrict
from schema_bridge.tables import account, domain, projects, resource_tags

PROJECT_ACCOUNT_TYPE = 5


@dataclass(frozen=True)
class TagFilter:
    key: str | None = None
    value: str | None = None
    resource_type: str | None = None
    # The API's resourceid matches the resource's uuid or its internal id.
    resource_id: str | None = None
    customer: str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True


def _tags_query(f: TagFilter) -> Select[Any]:
    query = (
        select(
            resource_tags,
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            domain.c.path.label("domain_path"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
        )
        .select_from(resource_tags.join(account, account.c.id == resource_tags.c.account_id))
        .join(domain, domain.c.id == resource_tags.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == resource_tags.c.account_id)
        # CloudStack sorts tags by resource type, newest type name first; id keeps it stable.
        .order_by(resource_tags.c.resource_type.desc(), resource_tags.c.id)
    )
    for column, wanted in (
        (resource_tags.c.key, f.key),
        (resource_tags.c.value, f.value),
        (resource_tags.c.resource_type, f.resource_type),
        (resource_tags.c.customer, f.customer),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.resource_id is not None:
        matches = [resource_tags.c.resource_uuid == f.resource_id]
        if f.resource_id.isdigit():
            matches.append(resource_tags.c.resource_id == int(f.resource_id))
        query = query.where(or_(*matches))
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(
        query, resource_tags.c.account_id, resource_tags.c.domain_id, f.account_ids, f.domain_ids
    )


async def tags_page(conn: AsyncConnection, f: TagFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _tags_query(f), offset, limit)
