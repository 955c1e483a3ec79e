"""Legacy and the engine writing the same rows during a cutover: every change the engine
makes to vm_instance and volumes is a compare-and-set on state and update_count, so a
writer holding an older copy fails instead of overwriting (both directions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from schema_bridge import vm_state, vm_volumes, volume_rows
from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.seed import SeedResult
from schema_bridge.tables import op_host_capacity, vm_instance, volumes
from schema_bridge.vm_rows import InsertedVm, VmRequest, insert_vm
from schema_bridge.vm_volumes import STORAGE_ALLOCATED


async def _vm(db: Database, seed: SeedResult, state: str = "Stopped") -> InsertedVm:
    request = VmRequest(
        template_id=seed.catalog.template_ids[0],
        service_offering_id=seed.catalog.small_offering_id,
        network_id=seed.networking.guest_network_id,
        states=(state,),
    )
    return await insert_vm(db, seed.identity.user, request)


async def _legacy_cas(db: Database, seen: vm_state.VmPlacement, to_state: str) -> bool:
    """What CloudStack's VMInstanceDao.updateState does, with the copy it read earlier."""
    async with db.engine.begin() as conn:
        changed = await conn.execute(
            update(vm_instance)
            .where(
                vm_instance.c.id == seen.id,
                vm_instance.c.state == seen.state,
                vm_instance.c.update_count == seen.update_count,
            )
            .values(state=to_state, update_count=vm_instance.c.update_count + 1)
        )
    return changed.rowcount == 1


async def _row(db: Database, table: Any, row_id: int) -> Any:
    async with db.engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.id == row_id))).one()


async def test_placing_a_vm_fails_a_legacy_change_made_from_an_older_copy(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    vm = await _vm(db, seed)
    async with db.engine.connect() as conn:
        legacy_copy = await vm_state.placement(conn, vm.id)
        engine_copy = await vm_state.placement(conn, vm.id)
    assert legacy_copy is not None and engine_copy is not None
    async with db.engine.begin() as conn:
        assert await vm_state.set_host(conn, engine_copy, vm.host.id)
    assert not await _legacy_cas(db, legacy_copy, "Starting")
    row = await _row(db, vm_instance, vm.id)
    assert (row.state, row.host_id, row.update_count) == (
        "Stopped",
        vm.host.id,
        engine_copy.update_count + 1,
    )


async def test_a_legacy_change_first_fails_the_engines_placement(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    vm = await _vm(db, seed)
    async with db.engine.connect() as conn:
        engine_copy = await vm_state.placement(conn, vm.id)
    assert engine_copy is not None
    assert await _legacy_cas(db, engine_copy, "Starting")
    async with db.engine.begin() as conn:
        assert not await vm_state.set_host(conn, engine_copy, vm.host.id)
        assert not await vm_state.cas(conn, engine_copy, "Running")
    row = await _row(db, vm_instance, vm.id)
    assert (row.state, row.host_id) == ("Starting", None)


async def test_a_resize_from_an_older_copy_changes_nothing(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    vm = await _vm(db, seed)
    async with db.engine.connect() as conn:
        copy = await volume_rows.volume_by_id(conn, vm.volume_id)
    assert copy is not None
    async with db.engine.begin() as conn:  # the other side changes the volume first
        await conn.execute(
            update(volumes)
            .where(volumes.c.id == copy.id)
            .values(update_count=volumes.c.update_count + 1, updated=utc_now())
        )
    async with db.engine.begin() as conn:
        assert not await volume_rows.set_size(conn, copy, copy.size * 2)
    assert (await _row(db, volumes, copy.id)).size == copy.size
    async with db.engine.connect() as conn:
        fresh = await volume_rows.volume_by_id(conn, vm.volume_id)
    assert fresh is not None
    async with db.engine.begin() as conn:
        assert await volume_rows.set_size(conn, fresh, copy.size * 2)
    row = await _row(db, volumes, copy.id)
    assert (row.size, row.update_count) == (copy.size * 2, fresh.update_count + 1)


async def test_removing_volumes_leaves_one_changed_meanwhile(
    seeded_db: tuple[Database, SeedResult],
) -> None:
    db, seed = seeded_db
    vm = await _vm(db, seed)
    query = select(
        volumes.c.id, volumes.c.pool_id, volumes.c.size, volumes.c.state, volumes.c.update_count
    ).where(volumes.c.id == vm.volume_id)
    async with db.engine.connect() as conn:
        copy = (await conn.execute(query)).one()
        room = await _pool_used(conn, int(copy.pool_id))
    async with db.engine.begin() as conn:  # the other side changes the volume first
        await conn.execute(
            update(volumes)
            .where(volumes.c.id == copy.id)
            .values(state="Resizing", update_count=volumes.c.update_count + 1)
        )
    async with db.engine.begin() as conn:
        assert not await vm_volumes.expunge_unchanged(conn, copy, utc_now())
        assert await _pool_used(conn, int(copy.pool_id)) == room
    assert (await _row(db, volumes, copy.id)).state == "Resizing"
    async with db.engine.begin() as conn:
        assert await vm_volumes.remove_volumes(conn, vm.id, utc_now()) == 1
        assert await _pool_used(conn, int(copy.pool_id)) == room - copy.size
    assert (await _row(db, volumes, copy.id)).state == "Expunged"


async def _pool_used(conn: Any, pool_id: int) -> int:
    query = select(op_host_capacity.c.used_capacity).where(
        op_host_capacity.c.host_id == pool_id,
        op_host_capacity.c.capacity_type == STORAGE_ALLOCATED,
    )
    return int((await conn.execute(query)).scalar_one())
