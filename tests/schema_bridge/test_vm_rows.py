"""VM rows as CloudStack's deploy path writes them, one at a time and in bulk."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from schema_bridge.db import Database
from schema_bridge.ids import VM_INSTANCE_SEQ, VOLUME_SEQ
from schema_bridge.seed import SeedResult, init_database
from schema_bridge.tables import (
    nics,
    op_host_capacity,
    op_networks,
    resource_count,
    sequence,
    user_ip_address,
    user_vm,
    user_vm_details,
    vm_instance,
    volumes,
)
from schema_bridge.vm_rows import (
    InsufficientAddressesError,
    VmRequest,
    direct_mac,
    insert_vm,
    insert_vms,
)

MAC = re.compile(r"^06:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")


def _request(seed: SeedResult, **extra: Any) -> VmRequest:
    return VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        **extra,
    )


async def _scalar(db: Database, query: Any) -> Any:
    async with db.engine.connect() as conn:
        return await conn.scalar(query)


async def _counts(db: Database, account_id: int) -> dict[str, int]:
    query = select(resource_count.c.type, resource_count.c.count).where(
        resource_count.c.account_id == account_id
    )
    async with db.engine.connect() as conn:
        return {kind: int(n) for kind, n in (await conn.execute(query)).all()}


def test_direct_mac_keeps_the_counter_in_the_low_bytes() -> None:
    mac = direct_mac(0x0000D4)
    assert MAC.match(mac)
    assert mac.endswith(":00:00:d4")
    with pytest.raises(ValueError, match="exceeds"):
        direct_mac(1 << 24)


async def test_one_vm_is_written_like_a_deployment(seeded_db: tuple[Database, SeedResult]) -> None:
    db, seed = seeded_db
    before = await _counts(db, seed.user.account_id)
    vm = await insert_vm(db, seed.user, _request(seed))
    assert vm.instance_name == f"i-{seed.user.account_id}-{vm.id}-VM"
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(vm_instance).where(vm_instance.c.id == vm.id))).one()
        assert (row.type, row.vm_type, row.state, row.uuid) == ("User", "User", "Running", vm.uuid)
        assert row.host_id == vm.host_id and row.power_state == "PowerOn"
        assert row.vnc_password and row.user_id == seed.user.user_id
        assert (
            await conn.scalar(select(user_vm.c.display_name).where(user_vm.c.id == vm.id))
            == vm.name
        )
        nic = (await conn.execute(select(nics).where(nics.c.instance_id == vm.id))).one()
        assert (nic.ip4_address, nic.mac_address, nic.default_nic) == (
            vm.ip_address,
            vm.mac_address,
            1,
        )
        assert nic.network_id == seed.networking.guest_network_id and MAC.match(nic.mac_address)
        vol = (await conn.execute(select(volumes).where(volumes.c.instance_id == vm.id))).one()
        assert (vol.volume_type, vol.state, vol.device_id, vol.id) == (
            "ROOT",
            "Ready",
            0,
            vm.volume_id,
        )
        assert vol.pool_id == seed.infrastructure.storage_pool_id and vol.size == vm.volume_size
        ip = (
            await conn.execute(
                select(user_ip_address).where(user_ip_address.c.public_ip_address == vm.ip_address)
            )
        ).one()
        assert (ip.state, ip.account_id) == ("Allocated", seed.user.account_id)
        details = await conn.scalar(select(func.count()).where(user_vm_details.c.vm_id == vm.id))
        assert details == 2
    after = await _counts(db, seed.user.account_id)
    assert after["user_vm"] == before["user_vm"] + 1
    assert after["volume"] == before["volume"] + 1
    assert after["cpu"] == before["cpu"] + 1
    assert after["memory"] == before["memory"] + 512
    assert after["primary_storage"] == before["primary_storage"] + vm.volume_size


async def test_bulk_insert_keeps_sequences_counts_and_addresses_true(database: Database) -> None:
    # Ten hosts give the shared network 2,500 addresses (the common fixture has 1,000).
    db = database
    seed = await init_database(db, hosts=10)
    owner = seed.domain_admin
    before = await _counts(db, owner.account_id)
    vms = await insert_vms(
        db, 2000, owner, _request(seed, states=("Running", "Stopped")), batch_size=700
    )
    ids = [vm.id for vm in vms]
    assert ids == list(range(ids[0], ids[0] + 2000))
    async with db.engine.connect() as conn:
        seqs = dict((await conn.execute(select(sequence.c.name, sequence.c.value))).all())
        assert seqs[VM_INSTANCE_SEQ] == ids[-1] + 1
        assert seqs[VOLUME_SEQ] == max(vm.volume_id for vm in vms) + 1
        assert await conn.scalar(select(func.count()).select_from(user_vm)) == 2000
        assert await conn.scalar(select(func.count(func.distinct(nics.c.ip4_address)))) == 2000
        assert await conn.scalar(select(func.count(func.distinct(nics.c.mac_address)))) == 2000
        assert await conn.scalar(select(func.count(func.distinct(volumes.c.uuid)))) == 2000
        stopped = select(func.count()).where(
            vm_instance.c.state == "Stopped", vm_instance.c.host_id.is_(None)
        )
        assert await conn.scalar(stopped) == 1000
        nics_count = await conn.scalar(
            select(op_networks.c.nics_count).where(
                op_networks.c.id == seed.networking.guest_network_id
            )
        )
        assert nics_count == 2000
        used = select(func.sum(op_host_capacity.c.used_capacity)).where(
            op_host_capacity.c.capacity_type == 1
        )
        assert await conn.scalar(used) == 1000 * 500
    after = await _counts(db, owner.account_id)
    assert after["user_vm"] - before["user_vm"] == 2000
    assert after["cpu"] - before["cpu"] == 2000
    assert after["memory"] - before["memory"] == 2000 * 512
    assert after["primary_storage"] - before["primary_storage"] == sum(vm.volume_size for vm in vms)
    root = await _scalar(
        db,
        select(resource_count.c.count).where(
            resource_count.c.domain_id == 1, resource_count.c.type == "user_vm"
        ),
    )
    assert root == after["user_vm"]


async def test_running_out_of_addresses_writes_nothing_more(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    with pytest.raises(InsufficientAddressesError, match="free addresses"):
        await insert_vms(db, seed.networking.guest_ip_count + 1, seed.user, _request(seed))
    assert (
        await _scalar(
            db, select(func.count()).select_from(vm_instance).where(vm_instance.c.type == "User")
        )
        == 0
    )
    with pytest.raises(ValueError, match="states"):
        await insert_vms(db, 1, seed.user, _request(seed, states=("Exploded",)))
