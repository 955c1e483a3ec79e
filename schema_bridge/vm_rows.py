"""User VMs written the way CloudStack's deploy path leaves them in the legacy schema.

Test and benchmark plumbing, not the engine: one call writes finished VMs (Running, or
Stopped after a first start) with everything the read commands join: `vm_instance` +
`user_vm` (ids from the `sequence` table), overcommit details, a default NIC on a shared
guest network with an address taken from its `user_ip_address` range, a Ready ROOT volume
on primary storage, and the account/domain resource counts and host capacities that a
real deployment moves. `insert_vms` writes in batches of multi-row INSERTs, one
transaction per batch, so 100,000 VMs take seconds rather than minutes.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol, TypeAlias

from sqlalchemy import Row, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import encryption
from schema_bridge.db import Database
from schema_bridge.dialect import for_update, utc_now
from schema_bridge.ids import VM_INSTANCE_SEQ, VOLUME_SEQ, new_uuid, next_id
from schema_bridge.tables import (
    cluster_details,
    disk_offering,
    domain,
    host,
    networks,
    nics,
    op_host_capacity,
    op_networks,
    resource_count,
    service_offering,
    storage_pool,
    user_ip_address,
    user_vm,
    user_vm_details,
    vlan,
    vm_instance,
    vm_template,
    volumes,
)

DEFAULT_BATCH: Final = 2000
MIB: Final = 1024**2
# op_host_capacity.capacity_type ordinals that a running VM or its root disk consumes.
MEMORY, CPU, STORAGE_ALLOCATED, CPU_CORE = 0, 1, 3, 90
# Direct (shared-network) NICs take their MAC from the address's counter: a 0x06 prefix,
# the mac.identifier byte (0 by default), one random byte, then 24 counter bits.
DIRECT_MAC_PREFIX: Final = 0x06 << 40
COUNTER_BITS: Final = 24
# A VM that has run went Stopped -> Starting -> Running: two optimistic-lock bumps.
RAN_UPDATE_COUNT: Final = 2
STATES: Final = ("Running", "Stopped")
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


class VmOwner(Protocol):
    """Who owns the VMs: `schema_bridge.seed.Credentials` fits, as does any similar record."""

    @property
    def account_id(self) -> int: ...

    @property
    def domain_id(self) -> int: ...

    @property
    def user_id(self) -> int: ...


@dataclass(frozen=True)
class VmRequest:
    """What to deploy; `host_ids` empty means every Up host of the network's zone, in turn."""

    template_id: int
    service_offering_id: int
    network_id: int
    host_ids: tuple[int, ...] = ()
    states: tuple[str, ...] = ("Running",)
    name_prefix: str = "vm"
    encryption_key: str | None = None


class InsufficientAddressesError(RuntimeError):
    """The guest network has fewer free addresses than VMs asked for."""


@dataclass(frozen=True)
class _Plan:
    """Everything looked up once per call and shared by every row of every batch."""

    owner_account: int
    owner_domain: int
    owner_user: int
    domain_chain: tuple[int, ...]
    zone_id: int
    hosts: tuple[AnyRow, ...]
    template: AnyRow
    offering: AnyRow
    pool: AnyRow
    network: AnyRow
    ratios: dict[int, tuple[str, str]]  # cluster id -> (cpu, memory) overcommit


async def _domain_chain(conn: AsyncConnection, domain_id: int) -> tuple[int, ...]:
    chain: list[int] = []
    current: int | None = domain_id
    while current is not None:
        chain.append(current)
        current = await conn.scalar(select(domain.c.parent).where(domain.c.id == current))
    return tuple(chain)


async def _one(conn: AsyncConnection, query: Any, what: str) -> AnyRow:
    row = (await conn.execute(query)).first()
    if row is None:
        raise LookupError(f"no usable {what}")
    return row


async def _hosts(
    conn: AsyncConnection, zone_id: int, wanted: tuple[int, ...]
) -> tuple[AnyRow, ...]:
    query = select(host.c.id, host.c.pod_id, host.c.cluster_id).where(
        host.c.data_center_id == zone_id, host.c.type == "Routing", host.c.removed.is_(None)
    )
    if wanted:
        query = query.where(host.c.id.in_(wanted))
    else:
        query = query.where(host.c.status == "Up", host.c.resource_state == "Enabled")
    rows = tuple((await conn.execute(query.order_by(host.c.id))).all())
    if not rows:
        raise LookupError(f"no usable host in zone {zone_id}")
    return rows


async def _ratios(conn: AsyncConnection, clusters: set[int]) -> dict[int, tuple[str, str]]:
    query = select(
        cluster_details.c.cluster_id, cluster_details.c.name, cluster_details.c.value
    ).where(
        cluster_details.c.cluster_id.in_(clusters),
        cluster_details.c.name.in_(("cpuOvercommitRatio", "memoryOvercommitRatio")),
    )
    found: dict[int, dict[str, str]] = {}
    for cluster_id, name, value in (await conn.execute(query)).all():
        found.setdefault(int(cluster_id), {})[name] = str(value)
    return {
        cid: (d.get("cpuOvercommitRatio", "1.0"), d.get("memoryOvercommitRatio", "1.0"))
        for cid, d in found.items()
    }


async def _plan(conn: AsyncConnection, owner: VmOwner, request: VmRequest) -> _Plan:
    network = await _one(
        conn, select(networks).where(networks.c.id == request.network_id), "network"
    )
    zone_id = int(network.data_center_id)
    offering_query = (
        select(service_offering, disk_offering.c.provisioning_type, disk_offering.c.disk_size)
        .join(disk_offering, disk_offering.c.id == service_offering.c.disk_offering_id)
        .where(service_offering.c.id == request.service_offering_id)
    )
    pool_query = (
        select(storage_pool)
        .where(storage_pool.c.data_center_id == zone_id, storage_pool.c.removed.is_(None))
        .where(storage_pool.c.status == "Up")
        .order_by(storage_pool.c.id)
    )
    hosts = await _hosts(conn, zone_id, request.host_ids)
    return _Plan(
        owner_account=owner.account_id,
        owner_domain=owner.domain_id,
        owner_user=owner.user_id,
        domain_chain=await _domain_chain(conn, owner.domain_id),
        zone_id=zone_id,
        hosts=hosts,
        template=await _one(
            conn, select(vm_template).where(vm_template.c.id == request.template_id), "template"
        ),
        offering=await _one(conn, offering_query, "service offering"),
        pool=await _one(conn, pool_query, "primary storage pool"),
        network=network,
        ratios=await _ratios(conn, {int(h.cluster_id) for h in hosts}),
    )


async def _take_addresses(
    conn: AsyncConnection, plan: _Plan, count: int, after: int, now: datetime
) -> list[AnyRow]:
    """Claim `count` Free addresses of the network, as DirectNetworkGuru's allocation does.

    `after` skips the ids earlier batches took, so a batch does not rescan claimed rows.
    """
    query = (
        select(
            user_ip_address.c.id,
            user_ip_address.c.public_ip_address,
            user_ip_address.c.mac_address,
            vlan.c.vlan_gateway,
            vlan.c.vlan_netmask,
            vlan.c.vlan_id,
        )
        .join(vlan, vlan.c.id == user_ip_address.c.vlan_db_id)
        .where(user_ip_address.c.source_network_id == plan.network.id)
        .where(user_ip_address.c.state == "Free", user_ip_address.c.removed.is_(None))
        .where(user_ip_address.c.id > after)
        .order_by(user_ip_address.c.id)
        .limit(count)
    )
    rows = list((await conn.execute(for_update(query))).all())
    if len(rows) < count:
        raise InsufficientAddressesError(
            f"network {plan.network.id} has {len(rows)} free addresses, {count} needed"
        )
    # Direct-attached addresses are not tied to the network id and not counted as public IPs.
    await conn.execute(
        update(user_ip_address)
        .where(user_ip_address.c.id.in_([r.id for r in rows]))
        .values(
            state="Allocated",
            allocated=now,
            account_id=plan.owner_account,
            domain_id=plan.owner_domain,
        )
    )
    return rows


def direct_mac(counter: int) -> str:
    """A shared-network NIC's MAC from its address's counter (NetUtils' sequence-based MAC)."""
    if counter >= 1 << COUNTER_BITS:
        raise ValueError(f"MAC counter {counter} exceeds {COUNTER_BITS} bits")
    value = DIRECT_MAC_PREFIX | secrets.randbelow(255) << COUNTER_BITS | counter
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))


@dataclass(frozen=True)
class InsertedVm:
    """One written VM; `host` and `address` are the rows its other tables were built from."""

    id: int
    uuid: str
    name: str
    state: str
    mac_address: str
    volume_id: int
    volume_size: int
    host: AnyRow = field(repr=False)
    address: AnyRow = field(repr=False)
    account_id: int = 0

    @property
    def running(self) -> bool:
        return self.state == "Running"

    @property
    def instance_name(self) -> str:
        return f"i-{self.account_id}-{self.id}-VM"

    @property
    def host_id(self) -> int:
        return int(self.host.id)

    @property
    def ip_address(self) -> str:
        return str(self.address.public_ip_address)


# Column values one table row at a time, compact on purpose (grouped by meaning). Columns
# whose default is the value CloudStack writes (display flags, delete_protection, update
# counters at 0, user_vm_type...) are left to the database: less to escape in bulk.
# fmt: off
def _vm_instance_row(plan: _Plan, vm: InsertedVm, key: str | None, now: datetime) -> dict[str, Any]:
    template, offering, running = plan.template, plan.offering, vm.running
    return {
        "id": vm.id, "name": vm.name, "uuid": vm.uuid, "host_name": vm.name,
        "display_name": vm.name, "instance_name": f"i-{plan.owner_account}-{vm.id}-VM",
        "state": vm.state, "vm_template_id": template.id, "guest_os_id": template.guest_os_id,
        "private_mac_address": vm.mac_address, "private_ip_address": vm.address.public_ip_address,
        "pod_id": vm.host.pod_id, "data_center_id": plan.zone_id,
        "host_id": vm.host.id if running else None, "last_host_id": vm.host.id,
        # VMInstanceVO's VNC password: a random long in hex, stored encrypted.
        "vnc_password": encryption.encrypt(f"{secrets.randbits(63):x}", key),
        "ha_enabled": bool(offering.ha_enabled), "limit_cpu_use": bool(offering.limit_cpu_use),
        "update_count": RAN_UPDATE_COUNT, "update_time": now, "created": now,
        "type": "User", "vm_type": "User", "account_id": plan.owner_account,
        "domain_id": plan.owner_domain, "user_id": plan.owner_user,
        "service_offering_id": offering.id, "hypervisor_type": template.hypervisor_type,
        "dynamically_scalable": bool(template.dynamically_scalable),
        "power_state": "PowerOn" if running else "PowerOff", "power_state_update_time": now,
        "power_host": vm.host.id if running else None,
    }


def _user_vm_row(vm: InsertedVm) -> dict[str, Any]:
    return {"id": vm.id, "display_name": vm.name}


def _nic_row(plan: _Plan, vm: InsertedVm, now: datetime) -> dict[str, Any]:
    network, address = plan.network, vm.address
    uri = network.broadcast_uri or address.vlan_id
    return {
        "uuid": new_uuid(), "instance_id": vm.id, "network_id": network.id, "device_id": 0,
        "mac_address": vm.mac_address, "ip4_address": address.public_ip_address, "ip_type": "Ip4",
        "netmask": address.vlan_netmask, "gateway": address.vlan_gateway,
        "broadcast_uri": uri, "isolation_uri": uri, "mode": network.mode,
        "state": "Reserved", "strategy": "Create", "reserver_name": network.guru_name,
        "reservation_id": address.vlan_id, "default_nic": 1, "vm_type": "User",
        "update_time": now, "created": now,
    }


def _volume_row(plan: _Plan, vm: InsertedVm, now: datetime) -> dict[str, Any]:
    pool, template = plan.pool, plan.template
    return {
        "id": vm.volume_id, "uuid": new_uuid(), "name": f"ROOT-{vm.id}", "volume_type": "ROOT",
        "account_id": plan.owner_account, "domain_id": plan.owner_domain,
        "instance_id": vm.id, "device_id": 0, "size": vm.volume_size,
        "pool_id": pool.id, "pool_type": pool.pool_type, "folder": pool.path, "path": new_uuid(),
        "pod_id": vm.host.pod_id, "data_center_id": plan.zone_id,
        "disk_offering_id": plan.offering.disk_offering_id, "template_id": template.id,
        "format": template.format, "provisioning_type": plan.offering.provisioning_type,
        "state": "Ready", "update_count": RAN_UPDATE_COUNT,
        "created": now, "attached": now, "updated": now,
    }
# fmt: on


def _detail_rows(plan: _Plan, vm: InsertedVm) -> list[dict[str, Any]]:
    """The overcommit ratios the first start copies from the cluster when either exceeds 1."""
    cpu, memory = plan.ratios.get(int(vm.host.cluster_id), ("1.0", "1.0"))
    if float(cpu) <= 1 and float(memory) <= 1:
        return []
    return [
        {"vm_id": vm.id, "name": "cpuOvercommitRatio", "value": cpu, "display": True},
        {"vm_id": vm.id, "name": "memoryOvercommitRatio", "value": memory, "display": True},
    ]


def _root_size(plan: _Plan) -> int:
    return max(int(plan.template.size or 0), int(plan.offering.disk_size or 0))


async def _count(conn: AsyncConnection, plan: _Plan, kind: str, amount: int) -> None:
    """Add to the owner's count and to every domain above it, as the resource manager does."""
    base = update(resource_count).where(
        resource_count.c.type == kind, resource_count.c.tag.is_(None)
    )
    await conn.execute(
        base.where(resource_count.c.account_id == plan.owner_account).values(
            count=resource_count.c.count + amount
        )
    )
    await conn.execute(
        base.where(resource_count.c.domain_id.in_(plan.domain_chain)).values(
            count=resource_count.c.count + amount
        )
    )


async def _capacity(conn: AsyncConnection, kind: int, amounts: dict[int, int]) -> None:
    """Add to the used capacity of several owners (hosts or pools) in one statement."""
    if not amounts:
        return
    row = op_host_capacity.c
    added = case(*((row.host_id == owner, n) for owner, n in amounts.items()), else_=0)
    await conn.execute(
        update(op_host_capacity)
        .where(row.host_id.in_(list(amounts)), row.capacity_type == kind)
        .values(used_capacity=row.used_capacity + added, update_time=utc_now())
    )


async def _bookkeeping(conn: AsyncConnection, plan: _Plan, batch: list[InsertedVm]) -> None:
    offering = plan.offering
    cpus, speed, ram = int(offering.cpu or 0), int(offering.speed or 0), int(offering.ram_size or 0)
    storage = sum(vm.volume_size for vm in batch)
    for resource, amount in (
        ("user_vm", len(batch)),
        ("volume", len(batch)),
        ("cpu", cpus * len(batch)),
        ("memory", ram * len(batch)),
        ("primary_storage", storage),
    ):
        await _count(conn, plan, resource, amount)
    running = Counter(int(vm.host.id) for vm in batch if vm.running)
    for kind, per_vm in ((CPU, cpus * speed), (MEMORY, ram * MIB), (CPU_CORE, cpus)):
        await _capacity(conn, kind, {host: per_vm * n for host, n in running.items()})
    await _capacity(conn, STORAGE_ALLOCATED, {int(plan.pool.id): storage})
    await conn.execute(
        update(op_networks)
        .where(op_networks.c.id == plan.network.id)
        .values(nics_count=op_networks.c.nics_count + len(batch))
    )


async def _write_batch(
    db: Database, plan: _Plan, request: VmRequest, size: int, offset: int, after: int
) -> list[InsertedVm]:
    # Ids come from the sequence table in short transactions of their own, as CloudStack does.
    first_vm = await next_id(db, VM_INSTANCE_SEQ, size)
    first_volume = await next_id(db, VOLUME_SEQ, size)
    now = utc_now()
    async with db.engine.begin() as conn:
        addresses = await _take_addresses(conn, plan, size, after, now)
        batch = [
            InsertedVm(
                id=first_vm + n,
                uuid=new_uuid(),
                name=f"{request.name_prefix}-{first_vm + n}",
                state=request.states[(offset + n) % len(request.states)],
                host=plan.hosts[(offset + n) % len(plan.hosts)],
                address=address,
                mac_address=direct_mac(int(address.mac_address)),
                account_id=plan.owner_account,
                volume_id=first_volume + n,
                volume_size=_root_size(plan),
            )
            for n, address in enumerate(addresses)
        ]
        key = request.encryption_key
        await conn.execute(
            insert(vm_instance), [_vm_instance_row(plan, vm, key, now) for vm in batch]
        )
        await conn.execute(insert(user_vm), [_user_vm_row(vm) for vm in batch])
        await conn.execute(insert(nics), [_nic_row(plan, vm, now) for vm in batch])
        await conn.execute(insert(volumes), [_volume_row(plan, vm, now) for vm in batch])
        details = [row for vm in batch for row in _detail_rows(plan, vm)]
        if details:
            await conn.execute(insert(user_vm_details), details)
        await _bookkeeping(conn, plan, batch)
    return batch


async def _free_addresses(conn: AsyncConnection, network_id: int) -> tuple[int, int]:
    """How many addresses of the network are Free, and the lowest id among them."""
    query = (
        select(func.count(), func.min(user_ip_address.c.id))
        .where(user_ip_address.c.source_network_id == network_id)
        .where(user_ip_address.c.state == "Free", user_ip_address.c.removed.is_(None))
    )
    found = (await conn.execute(query)).one()
    return int(found[0] or 0), int(found[1] or 1)


def _check(request: VmRequest, count: int, batch_size: int) -> None:
    if count < 1 or batch_size < 1:
        raise ValueError("count and batch_size must be at least 1")
    unknown = set(request.states) - set(STATES)
    if not request.states or unknown:
        raise ValueError(f"states must be taken from {STATES}")


async def insert_vms(
    db: Database, count: int, owner: VmOwner, request: VmRequest, *, batch_size: int = DEFAULT_BATCH
) -> list[InsertedVm]:
    """Write `count` VMs for `owner`, `batch_size` per transaction; returns them in id order."""
    _check(request, count, batch_size)
    async with db.engine.connect() as conn:
        plan = await _plan(conn, owner, request)
        free, first = await _free_addresses(conn, request.network_id)
    # Refuse before the first batch rather than leave part of the VMs behind.
    if free < count:
        raise InsufficientAddressesError(
            f"network {request.network_id} has {free} free addresses, {count} needed"
        )
    written: list[InsertedVm] = []
    after = first - 1
    for offset in range(0, count, batch_size):
        size = min(batch_size, count - offset)
        batch = await _write_batch(db, plan, request, size, offset, after)
        after = max(int(vm.address.id) for vm in batch)
        written.extend(batch)
    return written


async def insert_vm(db: Database, owner: VmOwner, request: VmRequest) -> InsertedVm:
    """One VM, written in one transaction like any batch."""
    return (await insert_vms(db, 1, owner, request))[0]
