"""The `event` table: listing with owners, and recording events the API itself raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Table, and_, exists, insert, null, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.ids import new_uuid
from schema_bridge.paging import Page, fetch_page, like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import account, domain, event, projects, table, user

PROJECT_ACCOUNT_TYPE = 5
# Event resource types (the API's resource type names) and the tables behind them.
RESOURCE_TABLES = {
    "VirtualMachine": "vm_instance",
    "DomainRouter": "vm_instance",
    "ConsoleProxy": "vm_instance",
    "SystemVm": "vm_instance",
    "InternalLbVm": "vm_instance",
    "Volume": "volumes",
    "Snapshot": "snapshots",
    "Template": "vm_template",
    "Iso": "vm_template",
    "Host": "host",
    "StoragePool": "storage_pool",
    "ImageStore": "image_store",
    "IpAddress": "user_ip_address",
    "SecurityGroup": "security_group",
    "PhysicalNetwork": "physical_network",
    "FirewallRule": "firewall_rules",
    "Account": "account",
    "User": "user",
    "AffinityGroup": "affinity_group",
    "Network": "networks",
    "Project": "projects",
    "Domain": "domain",
    "DiskOffering": "disk_offering",
    "ServiceOffering": "service_offering",
    "NetworkOffering": "network_offerings",
    "VpcOffering": "vpc_offerings",
    "Zone": "data_center",
    "Vpc": "vpc",
    "Cluster": "cluster",
    "Pod": "host_pod_ref",
    "VmSnapshot": "vm_snapshots",
    "Role": "roles",
}
# CloudStack names a resource by the first of these it has that is not empty.
_NAME_COLUMNS = ("display_name", "display_text", "host_name", "name", "account_name", "username")


@dataclass(frozen=True)
class EventFilter:
    ids: tuple[int, ...] = ()
    type: str | None = None
    level: str | None = None
    state: str | None = None
    keyword: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    start_id: int | None = None
    archived: bool = False
    resource_type: str | None = None
    resource_id: int | None = None
    displayed_only: bool = False
    # Started/Scheduled events with no completion, created inside this window.
    pending_between: tuple[datetime, datetime] | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None
    exclude_projects: bool = True


def _base_query() -> Select[Any]:
    """Events with their user, owner, domain, project and the event they complete."""
    start_event = event.alias("start_event")
    return (
        select(
            event,
            user.c.username,
            account.c.account_name,
            account.c.type.label("account_type"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.name.label("domain_name"),
            domain.c.path.label("domain_path"),
            projects.c.uuid.label("project_uuid"),
            projects.c.name.label("project_name"),
            start_event.c.uuid.label("start_uuid"),
        )
        .select_from(event.join(account, account.c.id == event.c.account_id))
        .join(domain, domain.c.id == event.c.domain_id)
        .outerjoin(user, user.c.id == event.c.user_id)
        .outerjoin(projects, projects.c.project_account_id == event.c.account_id)
        .outerjoin(start_event, start_event.c.id == event.c.start_id)
        .order_by(event.c.created.desc(), event.c.id.desc())
    )


def _events_query(f: EventFilter) -> Select[Any]:
    query = _simple_filters(_base_query().where(event.c.archived == f.archived), f)
    if f.keyword:
        pattern = like_escape(f.keyword)
        columns = (event.c.type, event.c.description, event.c.level)
        query = query.where(or_(*(c.like(pattern, escape="\\") for c in columns)))
    if f.start is not None:
        query = query.where(event.c.created >= f.start)
    if f.end is not None:
        query = query.where(event.c.created <= f.end)
    if f.pending_between is not None:
        query = _pending(query, f.pending_between)
    if f.exclude_projects:
        query = query.where(account.c.type != PROJECT_ACCOUNT_TYPE)
    return restrict(query, event.c.account_id, event.c.domain_id, f.account_ids, f.domain_ids)


def _simple_filters(query: Select[Any], f: EventFilter) -> Select[Any]:
    equal: list[tuple[Any, Any]] = [
        (event.c.type, f.type),
        (event.c.level, f.level),
        (event.c.state, f.state),
        (event.c.start_id, f.start_id),
        (event.c.resource_type, f.resource_type),
        (event.c.resource_id, f.resource_id),
    ]
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if f.ids:
        query = query.where(event.c.id.in_(f.ids))
    if f.displayed_only:
        query = query.where(event.c.display.is_(True))
    return query


def _pending(query: Select[Any], window: tuple[datetime, datetime]) -> Select[Any]:
    completion = event.alias("completion")
    completed = exists().where(
        and_(completion.c.state == "Completed", completion.c.start_id == event.c.id)
    )
    return query.where(
        event.c.state != "Completed",
        event.c.start_id == 0,
        event.c.created.between(*window),
        ~completed,
    )


async def events_page(
    conn: AsyncConnection, f: EventFilter, offset: int, limit: int | None
) -> Page:
    return await fetch_page(conn, _events_query(f), offset, limit)


def _resource_table(resource_type: str) -> Table | None:
    name = RESOURCE_TABLES.get(resource_type)
    return None if name is None else table(name)


async def resource_id_by_uuid(conn: AsyncConnection, resource_type: str, uuid: str) -> int | None:
    """The internal id of a resource of this type (removed ones included)."""
    rows = _resource_table(resource_type)
    if rows is None or "uuid" not in rows.c:
        return None
    found = await conn.scalar(select(rows.c.id).where(rows.c.uuid == uuid))
    return None if found is None else int(found)


async def resource_refs(
    conn: AsyncConnection, rows: list[Row[Any]]
) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    """(resource type, id) → (uuid, name) for the resources these events name."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.resource_id is not None and row.resource_type in RESOURCE_TABLES:
            wanted.setdefault(row.resource_type, set()).add(int(row.resource_id))
    out: dict[tuple[str, int], tuple[str | None, str | None]] = {}
    for resource_type, ids in wanted.items():
        target = _resource_table(resource_type)
        assert target is not None
        uuid_col = target.c.uuid if "uuid" in target.c else null()
        names = [target.c[n] for n in _NAME_COLUMNS if n in target.c]
        query = select(target.c.id, uuid_col, *names).where(target.c.id.in_(ids))
        for found in (await conn.execute(query)).all():
            rid, uuid, *labels = tuple(found)
            name = next((str(label) for label in labels if label), None)
            out[(resource_type, int(rid))] = (None if uuid is None else str(uuid), name)
    return out


@dataclass(frozen=True)
class NewEvent:
    type: str
    description: str
    user_id: int
    account_id: int
    domain_id: int
    created: datetime
    resource_id: int | None = None
    resource_type: str | None = None
    level: str = "INFO"
    state: str = "Completed"
    start_id: int = 0


async def record(conn: AsyncConnection, new: NewEvent) -> int:
    """Write one event row as CloudStack's action events are written."""
    result = await conn.execute(
        insert(event).values(
            uuid=new_uuid(),
            type=new.type,
            state=new.state,
            description=new.description,
            user_id=new.user_id,
            account_id=new.account_id,
            domain_id=new.domain_id,
            resource_id=new.resource_id,
            resource_type=new.resource_type,
            created=new.created,
            level=new.level,
            start_id=new.start_id,
            archived=False,
            display=True,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
