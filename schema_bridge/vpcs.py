"""The `vpc` table as listVPCs reads it, with its offering and zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import account, data_center, domain, projects, vpc, vpc_offerings
from schema_bridge.vm_groups import PROJECT_ACCOUNT_TYPE


@dataclass(frozen=True)
class VpcFilter:
    id: int | None = None
    zone_id: int | None = None
    name: str | None = None
    display_text: str | None = None
    cidr: str | None = None
    offering_id: int | None = None
    state: str | None = None
    restart_required: bool | None = None
    display: bool | None = None
    keyword: str | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True


def _query(f: VpcFilter) -> Select[Any]:
    v = vpc.c
    query = (
        select(
            v.id,
            v.uuid,
            v.name,
            v.display_text,
            v.state,
            v.cidr,
            v.created,
            v.network_domain,
            v.restart_required,
            v.display,
            v.uses_distributed_router,
            v.region_level_vpc,
            v.redundant,
            v.public_mtu,
            v.dns1,
            v.dns2,
            v.ip6dns1,
            v.ip6dns2,
            data_center.c.uuid.label("zone_uuid"),
            data_center.c.name.label("zone_name"),
            vpc_offerings.c.uuid.label("offering_uuid"),
            vpc_offerings.c.name.label("offering_name"),
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            domain.c.path.label("domain_path"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
        )
        .select_from(vpc.join(account, account.c.id == v.account_id))
        .join(domain, domain.c.id == v.domain_id)
        .join(data_center, data_center.c.id == v.zone_id)
        .outerjoin(vpc_offerings, vpc_offerings.c.id == v.vpc_offering_id)
        .outerjoin(projects, projects.c.project_account_id == v.account_id)
        .where(v.removed.is_(None))
        .order_by(v.id)
    )
    for column, wanted in (
        (v.id, f.id),
        (v.zone_id, f.zone_id),
        (v.name, f.name),
        (v.display_text, f.display_text),
        (v.cidr, f.cidr),
        (v.vpc_offering_id, f.offering_id),
        (v.state, f.state),
        (v.restart_required, f.restart_required),
        (v.display, f.display),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if f.keyword:
        pattern = like_escape(f.keyword)
        query = query.where(
            or_(v.name.like(pattern, escape="\\"), v.display_text.like(pattern, escape="\\"))
        )
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(query, v.account_id, v.domain_id, f.account_ids, f.domain_ids)


async def vpcs(conn: AsyncConnection, f: VpcFilter, offset: int, limit: int | None) -> Page:
    return await fetch_page(conn, _query(f), offset, limit)
