"""Initialise a database as a realistic CloudStack 4.20.2.0 cloud for demos and tests.

`init_database` = a fresh install (seed_install) + identities (seed_identity) +
infrastructure (seed_infra) + networking (seed_network) + catalogue (seed_catalog), all in
one transaction, refusing a database that already holds a CloudStack schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.seed_catalog import Catalog, seed_catalog, seed_settings
from schema_bridge.seed_identity import Credentials, Identity, seed_identity
from schema_bridge.seed_infra import Infrastructure, seed_infrastructure
from schema_bridge.seed_install import (
    clone_mysql_database,
    create_legacy_schema,
    load_fresh_install,
)
from schema_bridge.seed_network import Networking, seed_networking
from schema_bridge.tables import version

__all__ = [
    "AlreadyInitialisedError",
    "Catalog",
    "Credentials",
    "Identity",
    "Infrastructure",
    "Networking",
    "SeedResult",
    "clone_mysql_database",
    "init_database",
    "is_initialised",
]


class AlreadyInitialisedError(RuntimeError):
    """The database already has a `version` table; seeding it again would double every row."""


@dataclass(frozen=True)
class SeedResult:
    """What a demo prints and tests use: credentials and the ids of the seeded cloud."""

    identity: Identity
    infrastructure: Infrastructure
    networking: Networking
    catalog: Catalog
    encryption_key: str | None

    @property
    def admin(self) -> Credentials:
        return self.identity.admin

    @property
    def domain_admin(self) -> Credentials:
        return self.identity.domain_admin

    @property
    def user(self) -> Credentials:
        return self.identity.user

    @property
    def hosts(self) -> int:
        return len(self.infrastructure.host_ids)


def _has_version_table(connection: Connection) -> bool:
    return inspect(connection).has_table(version.name)


async def is_initialised(db: Database) -> bool:
    """Whether the database already holds a CloudStack schema (a non-empty `version` table).

    An empty `version` table is what a seed that failed half-way leaves on MariaDB (its
    DDL commits on its own, the rows roll back), so such a database may be seeded again.
    """
    async with db.engine.connect() as connection:
        if not await connection.run_sync(_has_version_table):
            return False
        return await connection.scalar(select(func.count()).select_from(version)) != 0


async def init_database(
    db: Database, hosts: int = 4, encryption_key: str | None = None
) -> SeedResult:
    """Create every legacy table and seed a demo cloud with `hosts` Simulator hosts.

    `encryption_key` plays CloudStack's db.cloud.encrypt.secret: with it, secret keys and
    Hidden/Secure settings are stored encrypted (V2), as a real install stores them.
    """
    if await is_initialised(db):
        raise AlreadyInitialisedError(
            f"{db.display_url} already holds a CloudStack schema; refusing to seed it again"
        )
    await create_legacy_schema(db)
    now = utc_now()
    async with db.engine.begin() as connection:
        await load_fresh_install(connection)
        identity = await seed_identity(connection, now, encryption_key)
        infrastructure = await seed_infrastructure(connection, hosts, now)
        networking = await seed_networking(connection, infrastructure.zone_id, hosts, now)
        catalog = await seed_catalog(
            connection,
            infrastructure.zone_id,
            infrastructure.image_store_id,
            identity.user.account_id,
            now,
        )
        await seed_settings(connection, encryption_key)
    return SeedResult(
        identity=identity,
        infrastructure=infrastructure,
        networking=networking,
        catalog=catalog,
        encryption_key=encryption_key,
    )
