"""Writing `ssh_keypairs`: one row per registered public key, named uniquely per account.

Only the public key and its fingerprint are stored; a generated private key is returned to
its owner once and never written anywhere (CloudStack keeps it transient too).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import for_update
from schema_bridge.ids import new_uuid
from schema_bridge.tables import account, ssh_keypairs


@dataclass(frozen=True)
class KeypairRef:
    id: int
    uuid: str


def _owned(account_id: int, domain_id: int) -> list[ColumnElement[bool]]:
    return [ssh_keypairs.c.account_id == account_id, ssh_keypairs.c.domain_id == domain_id]


async def lock_owner(conn: AsyncConnection, account_id: int) -> None:
    """Serialise key pair creation per account (names have no unique key in the schema)."""
    await conn.execute(for_update(select(account.c.id).where(account.c.id == account_id)))


async def by_name(
    conn: AsyncConnection, account_id: int, domain_id: int, name: str
) -> KeypairRef | None:
    query = select(ssh_keypairs.c.id, ssh_keypairs.c.uuid).where(
        *_owned(account_id, domain_id), ssh_keypairs.c.keypair_name == name
    )
    row = (await conn.execute(query)).first()
    return None if row is None else KeypairRef(int(row.id), str(row.uuid))


async def by_public_key(
    conn: AsyncConnection, account_id: int, domain_id: int, public_key: str
) -> KeypairRef | None:
    query = select(ssh_keypairs.c.id, ssh_keypairs.c.uuid).where(
        *_owned(account_id, domain_id), ssh_keypairs.c.public_key == public_key
    )
    row = (await conn.execute(query)).first()
    return None if row is None else KeypairRef(int(row.id), str(row.uuid))


async def by_fingerprint(conn: AsyncConnection, account_id: int, fingerprint: str) -> bool:
    """The schema's unique key is (fingerprint, account): one key, one name per account."""
    query = select(ssh_keypairs.c.id).where(
        ssh_keypairs.c.account_id == account_id, ssh_keypairs.c.fingerprint == fingerprint
    )
    return (await conn.execute(query)).first() is not None


@dataclass(frozen=True)
class NewKeypair:
    account_id: int
    domain_id: int
    name: str
    fingerprint: str
    public_key: str


async def insert_keypair(conn: AsyncConnection, new: NewKeypair) -> KeypairRef:
    uuid = new_uuid()
    result = await conn.execute(
        insert(ssh_keypairs).values(
            uuid=uuid,
            account_id=new.account_id,
            domain_id=new.domain_id,
            keypair_name=new.name,
            fingerprint=new.fingerprint,
            public_key=new.public_key,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return KeypairRef(int(key[0]), uuid)


async def delete_by_name(conn: AsyncConnection, account_id: int, domain_id: int, name: str) -> bool:
    changed = await conn.execute(
        delete(ssh_keypairs).where(
            *_owned(account_id, domain_id), ssh_keypairs.c.keypair_name == name
        )
    )
    return changed.rowcount > 0
