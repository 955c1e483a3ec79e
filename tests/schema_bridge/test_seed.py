"""The seeded demo cloud is complete and consistent on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import encryption
from schema_bridge.db import Database, open_database
from schema_bridge.facts import load_schema_facts
from schema_bridge.ids import SEQUENCE_OF_TABLE
from schema_bridge.passwords import PasswordFormat, matching_format
from schema_bridge.seed import AlreadyInitialisedError, SeedResult, init_database, is_initialised
from schema_bridge.seed_identity import RESOURCE_TYPES
from schema_bridge.seed_infra import HOST_CPU_MHZ, HOST_CPUS, HOST_RAM_BYTES
from schema_bridge.tables import (
    account,
    cluster_details,
    configuration,
    domain,
    host,
    op_host_capacity,
    resource_count,
    sequence,
    service_offering,
    table,
    user,
    user_ip_address,
)
from schema_bridge.version import check_schema
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_HOSTS

Seeded = tuple[Database, SeedResult]


async def _count(connection: AsyncConnection, name: str) -> int:
    return int(await connection.scalar(select(func.count()).select_from(table(name))) or 0)


async def test_row_counts(seeded_db: Seeded) -> None:
    db, seeded = seeded_db
    expected = {
        "domain": 2,
        "account": 4,
        "user": 4,
        "host": TEST_HOSTS,
        "op_host_capacity": TEST_HOSTS * 3 + 2 + 1 + 1 + 1 + 1,
        "storage_pool": 1,
        "storage_pool_host_ref": TEST_HOSTS,
        "image_store": 1,
        "vm_template": 12 + 4,
        "template_zone_ref": 4,
        "template_store_ref": 4,
        "service_offering": 2 + 3,
        "disk_offering": 6 + 3 + 2,
        "network_offerings": 8,
        "networks": 5,
        "op_networks": 5,
        "vlan": 2,
        "user_ip_address": seeded.networking.public_ip_count + seeded.networking.guest_ip_count,
        "resource_count": 36 + 3 * len(RESOURCE_TYPES),
        "resource_limit": len(RESOURCE_TYPES),
        "role_permissions": 1085,
    }
    async with db.engine.connect() as connection:
        counts = {name: await _count(connection, name) for name in expected}
    assert counts == expected
    assert seeded.hosts == TEST_HOSTS


def _orphans_query(child: str, key: dict[str, Any]) -> str:
    joins = " AND ".join(
        f"p.`{parent}` = c.`{column}`"
        for column, parent in zip(key["columns"], key["ref_columns"], strict=True)
    )
    present = " AND ".join(f"c.`{column}` IS NOT NULL" for column in key["columns"])
    missing = f"p.`{key['ref_columns'][0]}` IS NULL"
    return (
        f"SELECT COUNT(*) FROM `{child}` c LEFT JOIN `{key['ref_table']}` p ON {joins} "
        f"WHERE {present} AND {missing}"
    )


async def test_every_foreign_key_holds(seeded_db: Seeded) -> None:
    db, _ = seeded_db
    broken = []
    async with db.engine.connect() as connection:
        for name, facts in load_schema_facts()["tables"].items():
            for key in facts["foreign_keys"]:
                query = _orphans_query(name, dict(key)).replace(
                    "`", '"' if not db.is_mysql else "`"
                )
                if await connection.scalar(text(query)):
                    broken.append(f"{name}.{key['name']}")
    assert broken == []


async def test_sequences_stay_ahead_of_used_ids(seeded_db: Seeded) -> None:
    db, _ = seeded_db
    async with db.engine.connect() as connection:
        for table_name, sequence_name in SEQUENCE_OF_TABLE.items():
            used = await connection.scalar(select(func.max(table(table_name).c.id)))
            value = await connection.scalar(
                select(sequence.c.value).where(sequence.c.name == sequence_name)
            )
            assert value is not None
            assert used is None or used < value, table_name


async def test_passwords_and_keys(seeded_db: Seeded) -> None:
    db, seeded = seeded_db
    async with db.engine.connect() as connection:
        rows = {row.id: row for row in await connection.execute(select(user))}
    for people in (seeded.admin, seeded.domain_admin, seeded.user):
        row = rows[people.user_id]
        assert matching_format(people.password, row.password) == PasswordFormat.PBKDF2
        assert row.api_key == people.api_key
        assert len(people.api_key) == len(people.secret_key) == 86
        assert row.secret_key != people.secret_key
        assert encryption.decrypt(row.secret_key, TEST_ENCRYPTION_KEY) == people.secret_key
    assert seeded.admin.password == "password"
    assert rows[1].api_key is None


async def test_domains_and_accounts(seeded_db: Seeded) -> None:
    db, seeded = seeded_db
    async with db.engine.connect() as connection:
        domains = {row.name: row for row in await connection.execute(select(domain))}
        types = dict(
            (await connection.execute(select(account.c.account_name, account.c.type))).all()
        )
    root, child = domains["ROOT"], domains["Customers"]
    assert (root.path, root.child_count, root.next_child_seq) == ("/", 1, 2)
    assert (child.path, child.level, child.parent) == ("/Customers/", 1, root.id)
    assert types == {"system": 1, "admin": 1, "customers-admin": 2, "alice": 0}
    assert seeded.domain_admin.domain_path == seeded.user.domain_path == "/Customers/"


async def test_resource_counts_follow_ownership(seeded_db: Seeded) -> None:
    db, seeded = seeded_db
    query = select(resource_count.c.account_id, resource_count.c.domain_id).where(
        resource_count.c.type == "template", resource_count.c.count == 1
    )
    async with db.engine.connect() as connection:
        owners = set((await connection.execute(query)).all())
    child = seeded.user.domain_id
    assert owners == {(seeded.user.account_id, None), (None, child), (None, 1)}


async def test_hosts_hold_two_hundred_small_vms(seeded_db: Seeded) -> None:
    db, seeded = seeded_db
    async with db.engine.connect() as connection:
        small = (
            await connection.execute(
                select(service_offering).where(
                    service_offering.c.id == seeded.catalog.small_offering_id
                )
            )
        ).one()
        ratio = await connection.scalar(
            select(cluster_details.c.value).where(cluster_details.c.name == "cpuOvercommitRatio")
        )
        hosts = (await connection.execute(select(host))).all()
        capacity_types = set(
            (await connection.scalars(select(op_host_capacity.c.capacity_type))).all()
        )
    assert (small.cpu, small.ram_size) == (1, 512)
    by_cpu = HOST_CPUS * HOST_CPU_MHZ * float(ratio or 1) // small.speed
    by_memory = HOST_RAM_BYTES // (small.ram_size * 1024**2)
    assert min(by_cpu, by_memory) >= 200
    assert {(h.status, h.type, h.resource_state) for h in hosts} == {("Up", "Routing", "Enabled")}
    assert len({h.guid for h in hosts}) == len(hosts)
    assert {0, 1, 2, 3} <= capacity_types


async def test_ips_are_free_with_distinct_macs(seeded_db: Seeded) -> None:
    db, _ = seeded_db
    async with db.engine.connect() as connection:
        rows = (await connection.execute(select(user_ip_address))).all()
        zone_mac = await connection.scalar(text("SELECT mac_address FROM data_center"))
    assert {row.state for row in rows} == {"Free"}
    macs = [row.mac_address for row in rows]
    assert len(set(macs)) == len(macs)
    assert zone_mac > max(macs)


async def test_settings(seeded_db: Seeded) -> None:
    db, _ = seeded_db
    async with db.engine.connect() as connection:
        values = dict(
            (await connection.execute(select(configuration.c.name, configuration.c.value))).all()
        )
        assert await check_schema(connection) == "4.20.2.0"
    assert values["default.page.size"] == "500"
    assert values["init"] == "true"
    identifier = encryption.decrypt(values["cloud.identifier"], TEST_ENCRYPTION_KEY)
    assert len(identifier) == 36


async def test_seeding_twice_is_refused(seeded_db: Seeded) -> None:
    db, _ = seeded_db
    assert await is_initialised(db)
    with pytest.raises(AlreadyInitialisedError, match="already holds a CloudStack schema"):
        await init_database(db)


async def test_fifty_hosts_address_ten_thousand_vms(tmp_path: Path) -> None:
    db = await open_database(str(tmp_path / "big.db"))
    try:
        assert not await is_initialised(db)
        seeded = await init_database(db, hosts=50)
        async with db.engine.connect() as connection:
            stored_secret = await connection.scalar(
                select(user.c.secret_key).where(user.c.id == seeded.admin.user_id)
            )
    finally:
        await db.dispose()
    assert seeded.hosts == 50
    assert seeded.networking.guest_ip_count >= 10_000
    assert stored_secret == seeded.admin.secret_key  # no key configured: stored as is
