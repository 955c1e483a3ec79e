"""Alembic environment: sees stackshift's own tables only, never the legacy ones."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from migrate.schema import DDL_LOCK_WAIT_SECONDS
from schema_bridge.own_tables import OWN_PREFIX, own_metadata

VERSION_TABLE = "stackshift_alembic_version"


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "table":
        return name is not None and name.startswith(OWN_PREFIX)
    return True


def run_migrations_online() -> None:
    config = context.config
    connectable = config.attributes.get("connection")
    if connectable is None:
        section = config.get_section(config.config_ini_section) or {}
        connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
        return
    _run(connectable)


def _run(connection: Connection) -> None:
    if connection.dialect.name == "mysql":
        # A DDL statement waits for every open transaction on its table, and every statement
        # arriving after it waits behind it: bound the wait (migrate/upgrade.py retries).
        connection.exec_driver_sql(f"SET SESSION lock_wait_timeout = {DDL_LOCK_WAIT_SECONDS}")
        # The SET began a transaction; left open, Alembic would not commit its version row.
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=own_metadata,
        version_table=VERSION_TABLE,
        include_name=_include_name,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
