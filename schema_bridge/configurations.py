"""Listing global settings (`configuration`) with their group names, and the per-resource
overrides each scope keeps in its details table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    account_details,
    cluster_details,
    configuration,
    configuration_group,
    configuration_subgroup,
    data_center_details,
    domain_details,
    image_store_details,
    storage_pool_details,
)

# Settings of this category never leave the server, not even to root admins.
HIDDEN = "Hidden"
SECURE = "Secure"

# configuration.scope name → (details table, its resource column).
SCOPE_DETAILS: dict[str, tuple[Table, Column[Any]]] = {
    "Zone": (data_center_details, data_center_details.c.dc_id),
    "Cluster": (cluster_details, cluster_details.c.cluster_id),
    "StoragePool": (storage_pool_details, storage_pool_details.c.pool_id),
    "Account": (account_details, account_details.c.account_id),
    "Domain": (domain_details, domain_details.c.domain_id),
    "ImageStore": (image_store_details, image_store_details.c.store_id),
}


@dataclass(frozen=True)
class SettingFilter:
    name: str | None = None
    category: str | None = None
    keyword: str | None = None
    group_id: int | None = None
    subgroup_id: int | None = None
    parent: str | None = None
    scope: str | None = None


def _query(f: SettingFilter) -> Select[Any]:
    c = configuration.c
    g, s = configuration_group.alias("g"), configuration_subgroup.alias("s")
    query = (
        select(
            c.category,
            c.name,
            c.value,
            c.default_value,
            c.description,
            c.is_dynamic,
            c.component,
            c.parent,
            c.display_text,
            c.kind,
            c.options,
            g.c.name.label("group_name"),
            s.c.name.label("subgroup_name"),
        )
        .select_from(
            configuration.outerjoin(g, g.c.id == c.group_id).outerjoin(s, s.c.id == c.subgroup_id)
        )
        .where(c.category != HIDDEN)
        .order_by(c.name)
    )
    if f.keyword:
        pattern = like_escape(f.keyword)
        columns = (c.name, c.instance, c.component, c.description, c.category)
        matches: list[ColumnElement[bool]] = [col.like(pattern, escape="\\") for col in columns]
        # A Secure value is never searched: matching it would reveal it letter by letter.
        matches.append(and_(c.category != SECURE, c.value.like(pattern, escape="\\")))
        query = query.where(or_(*matches))
    if f.name:
        query = query.where(c.name.like(like_escape(f.name), escape="\\"))
    for column, wanted in (
        (c.group_id, f.group_id),
        (c.subgroup_id, f.subgroup_id),
        (c.parent, f.parent),
        (c.category, f.category),
        (c.scope, f.scope),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    return query


async def settings_page(
    conn: AsyncConnection, f: SettingFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)


async def group_id(conn: AsyncConnection, name: str) -> int | None:
    g = configuration_group.c
    found = await conn.scalar(select(g.id).where(g.name == name))
    return None if found is None else int(found)


async def subgroup_id(conn: AsyncConnection, name: str) -> int | None:
    s = configuration_subgroup.c
    found = await conn.scalar(select(s.id).where(s.name == name))
    return None if found is None else int(found)


async def overrides(
    conn: AsyncConnection, scope: str, resource_id: int, names: Iterable[str]
) -> dict[str, str | None]:
    """The values one resource of `scope` sets for itself, by setting name."""
    details, owner = SCOPE_DETAILS[scope]
    wanted = list(names)
    if not wanted:
        return {}
    query = select(details.c.name, details.c.value).where(
        owner == resource_id, details.c.name.in_(wanted)
    )
    return {str(name): value for name, value in (await conn.execute(query)).all()}
