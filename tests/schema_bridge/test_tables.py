"""Every declared Table equals the facts, and creating them reproduces the legacy schema."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import BigInteger, Boolean, Integer, insert, inspect, text
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateTable

from schema_bridge import tables
from schema_bridge.db import Database, open_database
from schema_bridge.facts import TableFacts, index_part_name, load_schema_facts
from schema_bridge.introspect import diff_schema, read_mysql_schema
from schema_bridge.seed_install import create_legacy_schema
from schema_bridge.tables import legacy_metadata, table
from schema_bridge.tables.columns import generic_type, server_default

FACTS = load_schema_facts()["tables"]
NAMED = [
    "version", "domain", "account", "user", "roles", "role_permissions", "data_center",
    "host_pod_ref", "cluster", "host", "host_details", "storage_pool", "vm_template",
    "template_zone_ref", "template_store_ref", "guest_os", "service_offering", "disk_offering",
    "networks", "network_offerings", "nics", "user_ip_address", "vlan", "vm_instance", "user_vm",
    "user_vm_details", "volumes", "async_job", "event", "usage_event", "resource_tags",
    "resource_count", "resource_limit", "ssh_keypairs", "configuration", "sequence",
    "op_host_capacity", "mshost", "instance_group", "instance_group_vm_map", "affinity_group",
    "vpc", "physical_network", "op_networks", "account_details", "domain_details", "image_store",
]  # fmt: skip


def test_metadata_has_every_table() -> None:
    assert set(legacy_metadata.tables) == set(FACTS)


@pytest.mark.parametrize("name", NAMED)
def test_named_tables_are_module_attributes(name: str) -> None:
    assert getattr(tables, name) is legacy_metadata.tables[name]


@pytest.mark.parametrize("name", sorted(FACTS))
def test_declared_table_matches_facts(name: str) -> None:
    declared, facts = table(name), FACTS[name]
    assert [column.name for column in declared.columns] == [c["name"] for c in facts["columns"]]
    for column, column_facts in zip(declared.columns, facts["columns"], strict=True):
        assert column.nullable == column_facts["nullable"]
        assert column.autoincrement == (column_facts["extra"] == "auto_increment")
        expected_default = server_default(column_facts["default"])
        actual_default = getattr(column.server_default, "arg", None)
        assert str(actual_default) == str(expected_default)
    assert [column.name for column in declared.primary_key] == facts["primary_key"]
    assert _declared_indexes(declared) == _fact_indexes(facts)
    assert _declared_foreign_keys(declared) == _fact_foreign_keys(facts)


def _declared_indexes(declared: Any) -> dict[str, tuple[bool, list[str]]]:
    return {
        index.name: (index.unique, [column.name for column in index.columns])
        for index in declared.indexes
    }


def _fact_indexes(facts: TableFacts) -> dict[str, tuple[bool, list[str]]]:
    return {
        name: (index["unique"], [index_part_name(part) for part in index["columns"]])
        for name, index in facts["indexes"].items()
    }


def _declared_foreign_keys(declared: Any) -> dict[str, tuple[Any, ...]]:
    return {
        constraint.name: (
            [element.parent.name for element in constraint.elements],
            constraint.referred_table.name,
            [element.column.name for element in constraint.elements],
            constraint.ondelete or "RESTRICT",
            constraint.onupdate or "RESTRICT",
        )
        for constraint in declared.foreign_key_constraints
    }


def _fact_foreign_keys(facts: TableFacts) -> dict[str, tuple[Any, ...]]:
    return {
        key["name"]: (
            key["columns"],
            key["ref_table"],
            key["ref_columns"],
            key["on_delete"],
            key["on_update"],
        )
        for key in facts["foreign_keys"]
    }


@pytest.mark.parametrize(
    ("column_type", "primary_key", "expected"),
    [
        ("tinyint(1)", False, Boolean),
        ("tinyint(1) unsigned", False, Boolean),
        ("int(1) unsigned", False, Integer),
        ("bigint(20) unsigned", False, BigInteger),
    ],
)
def test_generic_types(column_type: str, primary_key: bool, expected: type) -> None:
    assert isinstance(generic_type(column_type, primary_key), expected)


def test_autoincrement_ids_are_integer_primary_keys_on_sqlite() -> None:
    ddl = str(CreateTable(tables.vm_instance).compile(dialect=sqlite.dialect()))
    assert "id INTEGER NOT NULL" in ddl


def test_mysql_ddl_uses_the_exact_column_types() -> None:
    ddl = str(CreateTable(tables.user_ip_address).compile(dialect=mysql.dialect()))
    assert "uuid varchar(40) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NULL" in ddl
    assert "source_nat int(1) unsigned NOT NULL DEFAULT 0" in ddl
    assert "id bigint(20) unsigned NOT NULL auto_increment" in ddl
    assert "UNIQUE KEY public_ip_address (public_ip_address, source_network_id, removed)" in ddl
    assert "ON DELETE RESTRICT" not in ddl
    assert "ENGINE=InnoDB" in ddl


def test_unknown_column_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unmapped legacy column type"):
        generic_type("geometry")


@pytest.mark.mariadb
async def test_mariadb_information_schema_equals_facts(mariadb_url: str) -> None:
    db = await open_database(mariadb_url)
    try:
        await create_legacy_schema(db)
        async with db.engine.connect() as connection:
            live = await read_mysql_schema(connection)
    finally:
        await db.dispose()
    assert set(live) == set(FACTS)
    assert diff_schema(FACTS, live) == []


def _sqlite_shape(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        name: {
            "columns": [(c["name"], c["nullable"]) for c in inspector.get_columns(name)],
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted(
                (bool(i["unique"]), tuple(i["column_names"])) for i in inspector.get_indexes(name)
            ),
            "foreign_keys": sorted(
                {
                    (
                        tuple(k["constrained_columns"]),
                        k["referred_table"],
                        tuple(k["referred_columns"]),
                    )
                    for k in inspector.get_foreign_keys(name)
                }
            ),
        }
        for name in inspector.get_table_names()
    }


def _expected_sqlite_shape(facts: TableFacts) -> dict[str, Any]:
    return {
        "columns": [(c["name"], c["nullable"]) for c in facts["columns"]],
        "primary_key": facts["primary_key"],
        "indexes": sorted(
            (i["unique"], tuple(index_part_name(p) for p in i["columns"]))
            for i in facts["indexes"].values()
        ),
        # SQLite reflection merges the two identical keys some tables carry under two names.
        "foreign_keys": sorted(
            {
                (tuple(k["columns"]), k["ref_table"], tuple(k["ref_columns"]))
                for k in facts["foreign_keys"]
            }
        ),
    }


@pytest.mark.filterwarnings("ignore:.*could not be located in PRAGMA foreign_keys")
async def test_sqlite_schema_matches_facts(tmp_path: Any) -> None:
    db = await open_database(str(tmp_path / "shape.db"))
    try:
        await create_legacy_schema(db)
        async with db.engine.connect() as connection:
            shape = await connection.run_sync(_sqlite_shape)
    finally:
        await db.dispose()
    assert set(shape) == set(FACTS)
    for name, facts in FACTS.items():
        assert shape[name] == _expected_sqlite_shape(facts), name


async def test_foreign_keys_are_enforced(legacy_db: Database) -> None:
    row = {"account_name": "orphan", "type": 0, "domain_id": 999, "uuid": "x"}
    with pytest.raises(IntegrityError):
        async with legacy_db.engine.begin() as connection:
            await connection.execute(insert(tables.account).values(**row))


async def test_server_defaults_fill_omitted_columns(legacy_db: Database) -> None:
    async with legacy_db.engine.begin() as connection:
        await connection.execute(insert(tables.domain).values(name="ROOT", owner=2, path="/"))
        lock = {"key": "k", "mac": "m", "ip": "i", "thread": "t"}
        await connection.execute(insert(tables.op_lock).values(**lock))
        query = text("SELECT state, level, next_child_seq FROM domain")
        row = (await connection.execute(query)).one()
        acquired = await connection.scalar(text("SELECT acquired_on FROM op_lock"))
    assert tuple(row) == ("Active", 0, 1)
    assert acquired is not None
