"""Templates as listTemplates reads them: one row per template and zone, with the copy on
the zone's image store, the owner, the guest OS and the template's details.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.tables import (
    account,
    data_center,
    domain,
    guest_os,
    host,
    image_store,
    launch_permission,
    projects,
    template_store_ref,
    template_zone_ref,
    vm_template,
    vm_template_details,
)

PROJECT_ACCOUNT_TYPE = 5
# Template states listTemplates shows unless removed templates are asked for.
LISTED_STATES = ("Active", "UploadAbandon", "UploadError", "NotUploaded", "UploadInProgress")

source = vm_template.alias("source_template")
parent = vm_template.alias("parent_template")


@dataclass(frozen=True)
class TemplateFilter:
    """Which (template, zone) rows to list; every field left at its default adds nothing.

    The owner rules of the template filters are the API layer's: it expresses them with
    `owner_ids`, `public`, `featured`, `public_or_owner_ids`, `domain_path`,
    `public_or_domain_path` and `shared_with`.
    """

    template_id: int | None = None
    ids: tuple[int, ...] = ()
    name: str | None = None
    keyword: str | None = None
    zone_id: int | None = None
    hypervisor: str | None = None
    template_type: str | None = None
    arch: str | None = None
    # Templates whose guest OS is of this category (listTemplates' oscategoryid, 4.21).
    os_category_id: int | None = None
    owner_ids: tuple[int, ...] | None = None
    public: bool | None = None
    featured: bool | None = None
    public_or_owner_ids: tuple[int, ...] | None = None
    domain_path: str | None = None
    # With `domain_path`: the owner's domain is that one or (when True) any below it.
    domain_subtree: bool = True
    public_or_domain_path: str | None = None
    shared_with: tuple[int, ...] | None = None
    exclude_project_owned: bool = False
    exclude_system: bool = False
    only_ready: bool = False


def _ready_in_zone() -> ColumnElement[bool]:
    """A copy of the template is Ready on an image store of the row's zone (or a regional one)."""
    ready = (
        select(template_store_ref.c.id)
        .select_from(
            template_store_ref.join(image_store, image_store.c.id == template_store_ref.c.store_id)
        )
        .where(
            template_store_ref.c.template_id == vm_template.c.id,
            template_store_ref.c.store_role == "Image",
            template_store_ref.c.destroyed.is_(False),
            template_store_ref.c.state == "Ready",
            image_store.c.removed.is_(None),
            or_(
                image_store.c.data_center_id == template_zone_ref.c.zone_id,
                image_store.c.data_center_id.is_(None),
            ),
        )
    )
    return or_(exists(ready), vm_template.c.format == "BAREMETAL")


def _owner_clauses(f: TemplateFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if f.owner_ids is not None:
        clauses.append(vm_template.c.account_id.in_(f.owner_ids))
    if f.public is not None:
        clauses.append(vm_template.c.public == int(f.public))
    if f.featured is not None:
        clauses.append(vm_template.c.featured == int(f.featured))
    if f.public_or_owner_ids is not None:
        clauses.append(
            or_(
                vm_template.c.public == 1,
                vm_template.c.account_id.in_(f.public_or_owner_ids),
            )
        )
    if f.domain_path is not None:
        if f.domain_subtree:
            clauses.append(domain.c.path.startswith(f.domain_path, autoescape=True))
        else:
            clauses.append(domain.c.path == f.domain_path)
    if f.public_or_domain_path is not None:
        under = domain.c.path.startswith(f.public_or_domain_path, autoescape=True)
        clauses.append(or_(vm_template.c.public == 1, under))
    if f.shared_with is not None:
        shared = select(launch_permission.c.template_id).where(
            launch_permission.c.account_id.in_(f.shared_with)
        )
        clauses.append(vm_template.c.id.in_(shared.scalar_subquery()))
    if f.exclude_project_owned:
        clauses.append(account.c.type != PROJECT_ACCOUNT_TYPE)
    return clauses


def _attribute_clauses(f: TemplateFilter) -> list[ColumnElement[bool]]:
    # Only hypervisors some host runs have templates worth listing (External needs no host).
    running = (
        select(host.c.hypervisor_type)
        .where(host.c.type == "Routing", host.c.removed.is_(None))
        .union(select(literal("External")))
    )
    clauses: list[ColumnElement[bool]] = [
        vm_template.c.format != "ISO",
        vm_template.c.removed.is_(None),
        vm_template.c.state.in_(LISTED_STATES),
        vm_template.c.hypervisor_type.in_(running.scalar_subquery()),
    ]
    if f.template_id is not None:
        clauses.append(vm_template.c.id == f.template_id)
    if f.ids:
        clauses.append(vm_template.c.id.in_(f.ids))
    if f.keyword:
        pattern = like_escape(f.keyword)
        clauses.append(
            or_(
                vm_template.c.name.like(pattern, escape="\\"),
                vm_template.c.display_text.like(pattern, escape="\\"),
            )
        )
    if f.name is not None:
        clauses.append(vm_template.c.name == f.name)
    equal = (
        (vm_template.c.hypervisor_type, f.hypervisor),
        (vm_template.c.type, f.template_type),
        (vm_template.c.arch, f.arch),
        (guest_os.c.category_id, f.os_category_id),
        (template_zone_ref.c.zone_id, f.zone_id),
    )
    clauses.extend(column == value for column, value in equal if value is not None)
    if f.exclude_system:
        clauses.append(vm_template.c.type != "SYSTEM")
    if f.only_ready:
        clauses.append(_ready_in_zone())
    return clauses


def _templates_query(f: TemplateFilter) -> Select[Any]:
    zone_ref = and_(
        template_zone_ref.c.template_id == vm_template.c.id, template_zone_ref.c.removed.is_(None)
    )
    joined = (
        vm_template.join(account, account.c.id == vm_template.c.account_id)
        .join(domain, domain.c.id == account.c.domain_id)
        .outerjoin(projects, projects.c.project_account_id == account.c.id)
        .outerjoin(guest_os, guest_os.c.id == vm_template.c.guest_os_id)
        .outerjoin(source, source.c.id == vm_template.c.source_template_id)
        .outerjoin(parent, parent.c.id == vm_template.c.parent_template_id)
        .outerjoin(template_zone_ref, zone_ref)
        .outerjoin(data_center, data_center.c.id == template_zone_ref.c.zone_id)
    )
    # CloudStack orders by sort key, then by the text "<template id>_<zone id>".
    pair = cast(vm_template.c.id, String) + "_" + cast(func.coalesce(data_center.c.id, 0), String)
    return (
        select(
            vm_template,
            account.c.uuid.label("account_uuid"),
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            domain.c.path.label("domain_path"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
            guest_os.c.uuid.label("os_uuid"),
            guest_os.c.display_name.label("os_name"),
            source.c.uuid.label("source_uuid"),
            parent.c.uuid.label("parent_uuid"),
            data_center.c.id.label("zone_id"),
            data_center.c.uuid.label("zone_uuid"),
            data_center.c.name.label("zone_name"),
        )
        .select_from(joined)
        .where(*_attribute_clauses(f), *_owner_clauses(f))
        .order_by(vm_template.c.sort_key, pair)
    )


async def templates(
    conn: AsyncConnection, f: TemplateFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _templates_query(f), offset, limit)


@dataclass(frozen=True)
class TemplateOwner:
    id: int
    public: bool
    format: str
    account_id: int
    account_type: int
    domain_path: str


async def template_owner(conn: AsyncConnection, template_id: int) -> TemplateOwner | None:
    """A template (removed ones too) with what an access check needs."""
    query = (
        select(
            vm_template.c.id,
            vm_template.c.public,
            vm_template.c.format,
            vm_template.c.account_id,
            account.c.type,
            domain.c.path,
        )
        .select_from(vm_template.join(account, account.c.id == vm_template.c.account_id))
        .join(domain, domain.c.id == account.c.domain_id)
        .where(vm_template.c.id == template_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    id_, public, fmt, account_id, account_type, path = tuple(row)
    return TemplateOwner(
        int(id_), bool(public), str(fmt), int(account_id), int(account_type), str(path)
    )


async def has_launch_permission(conn: AsyncConnection, template_id: int, account_id: int) -> bool:
    query = select(launch_permission.c.id).where(
        launch_permission.c.template_id == template_id, launch_permission.c.account_id == account_id
    )
    return (await conn.execute(query)).first() is not None


@dataclass(frozen=True)
class StoreCopy:
    """A template's copy on an image store (template_store_ref)."""

    zone_id: int | None
    store_name: str
    store_uuid: str
    store_role: str
    state: str | None
    download_state: str | None
    download_pct: int | None
    error_str: str | None
    size: int | None
    physical_size: int | None
    created: datetime | None


@dataclass
class TemplateExtras:
    copies: list[StoreCopy] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)


async def template_extras(
    conn: AsyncConnection, template_ids: Iterable[int]
) -> dict[int, TemplateExtras]:
    """Image-store copies (live stores, not destroyed) and details of each template."""
    wanted = sorted(set(template_ids))
    out = {template_id: TemplateExtras() for template_id in wanted}
    if not wanted:
        return out
    copies = (
        select(
            template_store_ref.c.template_id,
            image_store.c.data_center_id,
            image_store.c.name,
            image_store.c.uuid,
            image_store.c.role,
            template_store_ref.c.state,
            template_store_ref.c.download_state,
            template_store_ref.c.download_pct,
            template_store_ref.c.error_str,
            template_store_ref.c.size,
            template_store_ref.c.physical_size,
            template_store_ref.c.created,
        )
        .select_from(
            template_store_ref.join(image_store, image_store.c.id == template_store_ref.c.store_id)
        )
        .where(template_store_ref.c.template_id.in_(wanted))
        .where(template_store_ref.c.store_role == "Image")
        .where(template_store_ref.c.destroyed.is_(False), image_store.c.removed.is_(None))
        .order_by(template_store_ref.c.id)
    )
    for row in (await conn.execute(copies)).all():
        out[int(row[0])].copies.append(StoreCopy(*tuple(row)[1:]))
    await _details(conn, wanted, out)
    return out


async def _details(
    conn: AsyncConnection, ids: Sequence[int], out: dict[int, TemplateExtras]
) -> None:
    query = (
        select(
            vm_template_details.c.template_id,
            vm_template_details.c.name,
            vm_template_details.c.value,
        )
        .where(vm_template_details.c.template_id.in_(ids))
        .order_by(vm_template_details.c.id)
    )
    for template_id, name, value in (await conn.execute(query)).all():
        out[int(template_id)].details[str(name)] = "" if value is None else str(value)
