"""Shared pieces of the deployVirtualMachine tests: references to the seeded catalogue, a
deploy call, and the bookkeeping check that every test ends with."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from engine.hypervisor.simulator import simulators
from schema_bridge import vm_state
from schema_bridge.capacity import CPU, CPU_CORE, MEMORY, MIB
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import (
    account,
    data_center,
    disk_offering,
    domain,
    host,
    networks,
    nics,
    op_host_capacity,
    op_networks,
    resource_count,
    resource_limit,
    service_offering,
    user_ip_address,
    vm_instance,
    vm_template,
    volumes,
)
from schema_bridge.vm_volumes import STORAGE_ALLOCATED
from tests.compat_api.conftest import Api, Reply
from tests.engine.test_vm_power import wait_job

GIB = 1024**3


@dataclass(frozen=True)
class Refs:
    zone: str
    small: str
    template: str
    template_size: int
    system_template: str
    network: str
    fixed_disk: str
    custom_disk: str


async def _uuid(api: Api, table: Any, row_id: int) -> str:
    async with api.db.engine.connect() as conn:
        return str(await conn.scalar(select(table.c.uuid).where(table.c.id == row_id)))


async def refs(api: Api) -> Refs:
    seed = api.seed
    catalog = seed.catalog
    async with api.db.engine.connect() as conn:
        size = await conn.scalar(
            select(vm_template.c.size).where(vm_template.c.id == catalog.template_ids[0])
        )
    return Refs(
        zone=await _uuid(api, data_center, seed.infrastructure.zone_id),
        small=await _uuid(api, service_offering, catalog.small_offering_id),
        template=await _uuid(api, vm_template, catalog.template_ids[0]),
        template_size=int(size or 0),
        system_template=await _uuid(api, vm_template, catalog.system_template_id),
        network=seed.networking.guest_network_uuid,
        fixed_disk=await _uuid(api, disk_offering, catalog.fixed_disk_offering_id),
        custom_disk=await _uuid(api, disk_offering, catalog.custom_disk_offering_id),
    )


async def deploy(api: Api, who: Credentials, ref: Refs, **params: Any) -> Reply:
    values: dict[str, Any] = {
        "zoneid": ref.zone,
        "serviceofferingid": ref.small,
        "templateid": ref.template,
    }
    values.update(params)
    return await api.signed(
        "deployVirtualMachine", who, **{k: v for k, v in values.items() if v is not None}
    )


async def deployed(api: Api, who: Credentials, ref: Refs, **params: Any) -> dict[str, Any]:
    """Deploy, wait for the job and return its queryAsyncJobResult body."""
    reply = await deploy(api, who, ref, **params)
    assert reply.status == 200, reply.text
    accepted = reply.inner("deployvirtualmachineresponse")
    assert list(accepted) == ["id", "jobid"]
    result = await wait_job(api, accepted["jobid"], who, timeout=60)
    result["vm_uuid"] = accepted["id"]
    return result


async def vm_by_uuid(api: Api, uuid: str) -> Any:
    async with api.db.engine.connect() as conn:
        query = select(vm_instance).where(vm_instance.c.uuid == uuid)
        return (await conn.execute(query)).one()


async def rows(api: Api, query: Any) -> list[Any]:
    async with api.db.engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def counts(api: Api, account_id: int) -> dict[str, int]:
    found = await rows(
        api,
        select(resource_count.c.type, resource_count.c.count).where(
            resource_count.c.account_id == account_id, resource_count.c.tag.is_(None)
        ),
    )
    return {str(kind): int(count) for kind, count in found}


async def set_limit(api: Api, kind: str, value: int, **owner: int) -> None:
    """An explicit resource_limit row for an account (account_id=) or a domain (domain_id=)."""
    column = resource_limit.c.account_id if "account_id" in owner else resource_limit.c.domain_id
    key = owner.get("account_id", owner.get("domain_id"))
    async with api.db.engine.begin() as conn:
        changed = await conn.execute(
            update(resource_limit)
            .where(column == key, resource_limit.c.type == kind, resource_limit.c.tag.is_(None))
            .values(max=value)
        )
        if changed.rowcount == 0:
            await conn.execute(insert(resource_limit).values(type=kind, max=value, **owner))


async def host_ip(api: Api, host_id: int) -> str:
    async with api.db.engine.connect() as conn:
        query = select(host.c.private_ip_address).where(host.c.id == host_id)
        return str(await conn.scalar(query))


async def host_uuid(api: Api, index: int) -> str:
    host_id = api.seed.infrastructure.host_ids[index]
    async with api.db.engine.connect() as conn:
        return str(await conn.scalar(select(host.c.uuid).where(host.c.id == host_id)))


async def fail_everywhere(api: Api, operation: str, message: str) -> None:
    """Make `operation` fail for every VM on every simulated host."""
    for host_id in api.seed.infrastructure.host_ids:
        simulators.host(await host_ip(api, host_id)).fail(
            operation, None, times=None, message=message
        )


async def used(api: Api, owner: int, kind: int) -> int:
    async with api.db.engine.connect() as conn:
        query = select(op_host_capacity.c.used_capacity).where(
            op_host_capacity.c.host_id == owner, op_host_capacity.c.capacity_type == kind
        )
        return int(await conn.scalar(query) or 0)


# --- the books --------------------------------------------------------------------------


async def _live_vms(api: Api) -> list[vm_state.VmPlacement]:
    """Live user VMs with their sizes (a custom offering's from the VM's details)."""
    query = select(vm_instance.c.id).where(
        vm_instance.c.removed.is_(None), vm_instance.c.type == "User"
    )
    async with api.db.engine.connect() as conn:
        ids = [int(i) for i in (await conn.execute(query)).scalars()]
        found = [await vm_state.placement(conn, vm_id) for vm_id in ids]
    return [vm for vm in found if vm is not None]


async def _check_addresses(api: Api) -> None:
    live = await rows(
        api,
        select(nics.c.network_id, nics.c.ip4_address, nics.c.mac_address).where(
            nics.c.removed.is_(None)
        ),
    )
    assert len({(n.network_id, n.ip4_address) for n in live}) == len(live), "duplicate IP"
    assert len({n.mac_address for n in live}) == len(live), "duplicate MAC"
    guest = api.seed.networking.guest_network_id
    allocated = await rows(
        api,
        select(user_ip_address.c.public_ip_address).where(
            user_ip_address.c.source_network_id == guest,
            user_ip_address.c.state != "Free",
        ),
    )
    on_guest = {n.ip4_address for n in live if n.network_id == guest}
    assert {a.public_ip_address for a in allocated} == on_guest, "leaked or lost addresses"
    count = await rows(api, select(op_networks.c.nics_count).where(op_networks.c.id == guest))
    assert int(count[0].nics_count) == len(on_guest)


async def _check_capacity(api: Api, vms: list[vm_state.VmPlacement]) -> None:
    for host_id in api.seed.infrastructure.host_ids:
        placed = [v for v in vms if v.host_id == host_id]
        assert await used(api, host_id, CPU) == sum(v.cpus * v.speed for v in placed)
        assert await used(api, host_id, MEMORY) == sum(v.ram_mb * MIB for v in placed)
        assert await used(api, host_id, CPU_CORE) == sum(v.cpus for v in placed)
    pool = api.seed.infrastructure.storage_pool_id
    sizes = await rows(
        api,
        select(func.coalesce(func.sum(volumes.c.size), 0)).where(
            volumes.c.pool_id == pool, volumes.c.removed.is_(None)
        ),
    )
    assert await used(api, pool, STORAGE_ALLOCATED) == int(sizes[0][0])


async def _implied_counts(api: Api, vms: list[vm_state.VmPlacement]) -> dict[int, Counter[str]]:
    implied: dict[int, Counter[str]] = {}
    for vm in vms:
        books = implied.setdefault(int(vm.account_id), Counter())
        books.update(user_vm=1, cpu=vm.cpus, memory=vm.ram_mb)
    for volume in await rows(
        api, select(volumes.c.account_id, volumes.c.size).where(volumes.c.removed.is_(None))
    ):
        books = implied.setdefault(int(volume.account_id), Counter())
        books.update(volume=1, primary_storage=int(volume.size))
    return implied


async def _check_counts(api: Api, vms: list[vm_state.VmPlacement]) -> None:
    implied = await _implied_counts(api, vms)
    kinds = ("user_vm", "cpu", "memory", "volume", "primary_storage")
    accounts = await rows(
        api, select(account.c.id, domain.c.path).join(domain, domain.c.id == account.c.domain_id)
    )
    for owner in accounts:
        have = await counts(api, int(owner.id))
        want = implied.get(int(owner.id), Counter())
        assert {k: have.get(k, 0) for k in kinds} == {k: want[k] for k in kinds}, owner.id
    for place in await rows(api, select(domain.c.id, domain.c.path)):
        inside = [a.id for a in accounts if str(a.path).startswith(str(place.path))]
        want_domain = sum((implied.get(int(i), Counter()) for i in inside), Counter())
        have_rows = await rows(
            api,
            select(resource_count.c.type, resource_count.c.count).where(
                resource_count.c.domain_id == place.id, resource_count.c.tag.is_(None)
            ),
        )
        have_domain = {str(k): int(c) for k, c in have_rows}
        assert {k: have_domain.get(k, 0) for k in kinds} == {k: want_domain[k] for k in kinds}


async def check_books(api: Api) -> None:
    """No VM mid-transition, no duplicate or leaked address or MAC, and host capacity, pool
    allocation and resource counts exactly what the rows imply."""
    vms = await _live_vms(api)
    assert not [v for v in vms if v.state in ("Starting", "Stopping")]
    running = [v for v in vms if v.state == "Running"]
    await _check_addresses(api)
    await _check_capacity(api, running)
    await _check_counts(api, vms)


async def network_id_of(api: Api, uuid: str) -> int:
    async with api.db.engine.connect() as conn:
        return int(await conn.scalar(select(networks.c.id).where(networks.c.uuid == uuid)) or 0)
