"""Writing `resource_tags` as CloudStack's tagged resource manager does: each tag carries the
resource's numeric id and uuid, its type name, and the account/domain that owns it.

Resources without an owner column (zones, offerings...) belong to the system account, as
in CloudStack, so only administrators can tag them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import account, resource_tags, table

SYSTEM_ACCOUNT_ID: Final = 1
# ResourceObjectType names (how resource_tags.resource_type stores them) and their tables.
SERVED: Final[dict[str, str]] = {
    "UserVm": "vm_instance",
    "DomainRouter": "vm_instance",
    "Template": "vm_template",
    "ISO": "vm_template",
    "Volume": "volumes",
    "Snapshot": "snapshots",
    "VMSnapshot": "vm_snapshots",
    "Network": "networks",
    "PublicIpAddress": "user_ip_address",
    "SecurityGroup": "security_group",
    "Vpc": "vpc",
    "Project": "projects",
    "Zone": "data_center",
    "ServiceOffering": "service_offering",
    "DiskOffering": "disk_offering",
    "NetworkOffering": "network_offerings",
    "VpcOffering": "vpc_offerings",
    "Domain": "domain",
    "Account": "account",
}
# The other ResourceObjectType names CloudStack knows (valid, but not taggable here yet).
KNOWN_ONLY: Final = (
    "VnfTemplate", "Backup", "Nic", "LoadBalancer", "PortForwardingRule", "FirewallRule",
    "SecurityGroupRule", "NetworkACL", "StaticRoute", "RemoteAccessVpn", "Storage",
    "PrivateGateway", "NetworkACLList", "VpnGateway", "CustomerGateway", "VpnConnection", "User",
    "AutoScaleVmProfile", "AutoScaleVmGroup", "LBStickinessPolicy", "LBHealthCheckPolicy",
    "SnapshotPolicy", "GuestOs", "ObjectStore", "Bucket", "QuotaTariff", "KubernetesCluster",
    "KubernetesSupportedVersion", "SharedFS",
)  # fmt: skip


def canonical_type(name: str) -> str | None:
    """The ResourceObjectType matching `name` case-insensitively, as CloudStack parses it."""
    return next((t for t in (*SERVED, *KNOWN_ONLY) if t.lower() == name.lower()), None)


@dataclass(frozen=True)
class Tagged:
    """A resource a tag may name, with its owner."""

    id: int
    uuid: str
    account_id: int
    domain_id: int


def _table(resource_type: str) -> Table:
    return table(SERVED[resource_type])


async def _domain_of_account(conn: AsyncConnection, account_id: int) -> int:
    found = await conn.scalar(select(account.c.domain_id).where(account.c.id == account_id))
    return int(found or 1)


async def find_resource(conn: AsyncConnection, resource_type: str, ref: str) -> Tagged | None:
    """A live resource by uuid, else (for a numeric ref) by id, as getResourceId looks it up."""
    rows = _table(resource_type)
    columns = [rows.c.id, rows.c.uuid]
    columns += [rows.c[c] for c in ("account_id", "domain_id") if c in rows.c]
    query = select(*columns)
    if "removed" in rows.c:
        query = query.where(rows.c.removed.is_(None))
    found = (await conn.execute(query.where(rows.c.uuid == ref))).first()
    if found is None and ref.isdigit() and int(ref) < 2**63:
        found = (await conn.execute(query.where(rows.c.id == int(ref)))).first()
    if found is None:
        return None
    values = found._mapping
    account_id = int(values.get("account_id") or SYSTEM_ACCOUNT_ID)
    domain_id = values.get("domain_id")
    if domain_id is None or int(domain_id) == -1:
        domain_id = await _domain_of_account(conn, account_id)
    return Tagged(int(found.id), str(found.uuid), account_id, int(domain_id))


async def taken_keys(
    conn: AsyncConnection, resource_type: str, resource_ids: Iterable[int], keys: Iterable[str]
) -> list[tuple[int, str]]:
    """(resource id, key) pairs among these that already carry a tag."""
    query = select(resource_tags.c.resource_id, resource_tags.c.key).where(
        resource_tags.c.resource_type == resource_type,
        resource_tags.c.resource_id.in_(list(resource_ids)),
        resource_tags.c.key.in_(list(keys)),
    )
    return [(int(r), str(k)) for r, k in (await conn.execute(query)).all()]


@dataclass(frozen=True)
class NewTag:
    uuid: str
    key: str
    value: str
    resource_id: int
    resource_uuid: str
    resource_type: str
    customer: str | None
    account_id: int
    domain_id: int


async def insert_tags(conn: AsyncConnection, tags: list[NewTag]) -> None:
    """Insert the tags not already present (by uuid: a repeat inserts nothing twice); a
    clash with another tag of the same key raises the database's IntegrityError."""
    present = set(
        (
            await conn.execute(
                select(resource_tags.c.uuid).where(resource_tags.c.uuid.in_([t.uuid for t in tags]))
            )
        ).scalars()
    )
    missing = [asdict(t) for t in tags if t.uuid not in present]
    if missing:
        await conn.execute(insert(resource_tags), missing)


@dataclass(frozen=True)
class TagRow:
    id: int
    key: str
    value: str
    account_id: int
    domain_id: int


async def tags_of(conn: AsyncConnection, resource_type: str, refs: Iterable[str]) -> list[TagRow]:
    """Tags whose resource is any of `refs`, by numeric id or by uuid, as deleteTags finds them."""
    wanted = list(refs)
    numeric = [int(r) for r in wanted if r.isdigit() and int(r) < 2**63]
    query = select(
        resource_tags.c.id,
        resource_tags.c.key,
        resource_tags.c.value,
        resource_tags.c.account_id,
        resource_tags.c.domain_id,
    ).where(
        resource_tags.c.resource_type == resource_type,
        or_(resource_tags.c.resource_uuid.in_(wanted), resource_tags.c.resource_id.in_(numeric)),
    )
    return [
        TagRow(int(r.id), str(r.key), str(r.value or ""), int(r.account_id), int(r.domain_id))
        for r in (await conn.execute(query.order_by(resource_tags.c.id))).all()
    ]


def matches(tag: TagRow, wanted: Mapping[str, str | None]) -> bool:
    """deleteTags' rule: no filter matches all; a key matches case-insensitively, and so does
    its value when one is given."""
    if not wanted:
        return True
    for key, value in wanted.items():
        if tag.key.lower() == key.lower() and (value is None or tag.value.lower() == value.lower()):
            return True
    return False


async def delete_tags(conn: AsyncConnection, ids: Iterable[int]) -> None:
    await conn.execute(delete(resource_tags).where(resource_tags.c.id.in_(list(ids))))


async def remove_all(conn: AsyncConnection, resource_type: str, resource_id: int) -> None:
    """Tags of a resource that is being removed go with it."""
    await conn.execute(
        delete(resource_tags).where(
            resource_tags.c.resource_type == resource_type,
            resource_tags.c.resource_id == resource_id,
        )
    )


class StatelessResources:
    """ResourceStates for jobs that change no stateful resource (tag batches): every
    transition is trivially allowed."""

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None:
        return "Ready"

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool:
        return True


def tag_args(tags: list[NewTag]) -> list[dict[str, Any]]:
    """Tags as JSON-serialisable job arguments."""
    return [asdict(t) for t in tags]
