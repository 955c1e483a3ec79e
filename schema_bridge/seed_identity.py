"""Demo identities: a child domain, a domain admin and a user, API keys, limits and counts.

Rows are shaped as CloudStack's createDomain/createAccount/registerUserKeys write them.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import encryption
from schema_bridge.ids import new_uuid
from schema_bridge.passwords import encode_pbkdf2
from schema_bridge.seed_install import ADMIN_USER_ID, DEFAULT_ADMIN_PASSWORD, insert_row
from schema_bridge.tables import account, domain, resource_count, resource_limit, user

RESOURCE_TYPES: Final = (
    "user_vm",
    "public_ip",
    "volume",
    "snapshot",
    "template",
    "project",
    "network",
    "vpc",
    "cpu",
    "memory",
    "primary_storage",
    "secondary_storage",
)
ACCOUNT_TYPE_USER: Final = 0
ACCOUNT_TYPE_DOMAIN_ADMIN: Final = 2
ROLE_DOMAIN_ADMIN: Final = 3
ROLE_USER: Final = 4
ROOT_DOMAIN_ID: Final = 1
CHILD_DOMAIN: Final = "Customers"
DOMAIN_ADMIN_NAME: Final = "customers-admin"
DOMAIN_ADMIN_PASSWORD: Final = "Customers-Admin-1"  # noqa: S105 - known demo/test password
USER_NAME: Final = "alice"
USER_PASSWORD: Final = "Alice-Password-1"  # noqa: S105 - known demo/test password
# Limits for the plain user: memory in MiB, storage in GiB (stored as bytes, see below).
USER_LIMITS: Final = {
    "user_vm": 20,
    "public_ip": 10,
    "volume": 40,
    "snapshot": 40,
    "template": 10,
    "project": 2,
    "network": 5,
    "vpc": 2,
    "cpu": 40,
    "memory": 81920,
    "primary_storage": 1000,
    "secondary_storage": 400,
}


@dataclass(frozen=True)
class Credentials:
    """Everything a client or a test needs to act as one seeded user."""

    username: str
    password: str
    api_key: str
    secret_key: str
    user_id: int
    user_uuid: str
    account_id: int
    account_uuid: str
    account_name: str
    domain_id: int
    domain_uuid: str
    domain_path: str


@dataclass(frozen=True)
class Identity:
    admin: Credentials
    domain_admin: Credentials
    user: Credentials


def new_api_key() -> str:
    """86 url-safe base64 characters of 64 random bytes, like CloudStack's HmacSHA1 keys."""
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode("ascii")


async def create_child_domain(
    connection: AsyncConnection, name: str, parent_id: int, owner: int, now: datetime
) -> int:
    """A domain under `parent_id` with CloudStack's path/level/child bookkeeping."""
    parent = (await connection.execute(select(domain).where(domain.c.id == parent_id))).one()
    child_id = await insert_row(
        connection,
        domain,
        parent=parent_id,
        name=name,
        uuid=new_uuid(),
        owner=owner,
        path=f"{parent.path}{name}/",
        level=parent.level + 1,
        child_count=0,
        next_child_seq=1,
        created=now,
        state="Active",
        type="Normal",
    )
    await connection.execute(
        update(domain)
        .where(domain.c.id == parent_id)
        .values(child_count=domain.c.child_count + 1, next_child_seq=domain.c.next_child_seq + 1)
    )
    return child_id


async def add_resource_counts(
    connection: AsyncConnection, *, account_id: int | None = None, domain_id: int | None = None
) -> None:
    """One zero `resource_count` row per resource type for a new account or domain."""
    rows = [
        {"account_id": account_id, "domain_id": domain_id, "type": kind, "count": 0, "tag": None}
        for kind in RESOURCE_TYPES
    ]
    await connection.execute(insert(resource_count), rows)


async def _domain_chain(connection: AsyncConnection, domain_id: int) -> list[int]:
    chain: list[int] = []
    current: int | None = domain_id
    while current is not None:
        chain.append(current)
        current = await connection.scalar(select(domain.c.parent).where(domain.c.id == current))
    return chain


async def increment_resource_count(
    connection: AsyncConnection, account_id: int, resource_type: str, amount: int
) -> None:
    """Add `amount` to an account's count and to every domain above it, as CloudStack does."""
    query = select(account.c.domain_id).where(account.c.id == account_id)
    domain_id = (await connection.execute(query)).scalar_one()
    if domain_id is None:
        raise LookupError(f"account {account_id} has no domain")
    await connection.execute(
        update(resource_count)
        .where(resource_count.c.account_id == account_id, resource_count.c.type == resource_type)
        .where(resource_count.c.tag.is_(None))
        .values(count=resource_count.c.count + amount)
    )
    await connection.execute(
        update(resource_count)
        .where(resource_count.c.domain_id.in_(await _domain_chain(connection, int(domain_id))))
        .where(resource_count.c.type == resource_type, resource_count.c.tag.is_(None))
        .values(count=resource_count.c.count + amount)
    )


async def _create_account(
    connection: AsyncConnection, name: str, kind: int, role_id: int, domain_id: int, now: datetime
) -> int:
    account_id = await insert_row(
        connection,
        account,
        account_name=name,
        uuid=new_uuid(),
        type=kind,
        role_id=role_id,
        domain_id=domain_id,
        state="enabled",
        created=now,
        cleanup_needed=False,
        default=0,
    )
    await add_resource_counts(connection, account_id=account_id)
    return account_id


async def _create_user(
    connection: AsyncConnection, account_id: int, username: str, password: str, now: datetime
) -> int:
    return await insert_row(
        connection,
        user,
        uuid=new_uuid(),
        username=username,
        password=encode_pbkdf2(password),
        account_id=account_id,
        firstname=username.capitalize(),
        lastname="Demo",
        email=f"{username}@example.com",
        state="enabled",
        created=now,
        source="UNKNOWN",
    )


async def register_keys(
    connection: AsyncConnection, user_id: int, key: str | None
) -> tuple[str, str]:
    """New API and secret keys for a user; the secret is stored encrypted when a key is set."""
    api_key, secret_key = new_api_key(), new_api_key()
    await connection.execute(
        update(user)
        .where(user.c.id == user_id)
        .values(api_key=api_key, secret_key=encryption.encrypt(secret_key, key))
    )
    return api_key, secret_key


async def _credentials(
    connection: AsyncConnection, user_id: int, password: str, key: str | None
) -> Credentials:
    api_key, secret_key = await register_keys(connection, user_id, key)
    query = (
        select(
            user.c.uuid.label("user_uuid"),
            user.c.username,
            account.c.id.label("account_id"),
            account.c.uuid.label("account_uuid"),
            account.c.account_name,
            domain.c.id.label("domain_id"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.path,
        )
        .join(account, account.c.id == user.c.account_id)
        .join(domain, domain.c.id == account.c.domain_id)
        .where(user.c.id == user_id)
    )
    row = (await connection.execute(query)).one()
    return Credentials(
        username=row.username,
        password=password,
        api_key=api_key,
        secret_key=secret_key,
        user_id=user_id,
        user_uuid=row.user_uuid,
        account_id=row.account_id,
        account_uuid=row.account_uuid,
        account_name=row.account_name,
        domain_id=row.domain_id,
        domain_uuid=row.domain_uuid,
        domain_path=row.path,
    )


def stored_limit(resource_type: str, limit: int) -> int:
    """The `resource_limit.max` value: CloudStack keeps storage limits in bytes."""
    storage = resource_type in ("primary_storage", "secondary_storage")
    return limit * 1024**3 if storage and limit >= 0 else limit


async def _limit_user(connection: AsyncConnection, account_id: int) -> None:
    rows = [
        {
            "account_id": account_id,
            "domain_id": None,
            "type": kind,
            "max": stored_limit(kind, limit),
            "tag": None,
        }
        for kind, limit in USER_LIMITS.items()
    ]
    await connection.execute(insert(resource_limit), rows)


async def seed_identity(connection: AsyncConnection, now: datetime, key: str | None) -> Identity:
    """Keys for the built-in admin, plus a child domain holding a domain admin and a user."""
    admin = await _credentials(connection, ADMIN_USER_ID, DEFAULT_ADMIN_PASSWORD, key)
    child = await create_child_domain(
        connection, CHILD_DOMAIN, ROOT_DOMAIN_ID, admin.account_id, now
    )
    await add_resource_counts(connection, domain_id=child)
    people = {}
    for name, password, kind, role in (
        (DOMAIN_ADMIN_NAME, DOMAIN_ADMIN_PASSWORD, ACCOUNT_TYPE_DOMAIN_ADMIN, ROLE_DOMAIN_ADMIN),
        (USER_NAME, USER_PASSWORD, ACCOUNT_TYPE_USER, ROLE_USER),
    ):
        account_id = await _create_account(connection, name, kind, role, child, now)
        user_id = await _create_user(connection, account_id, name, password, now)
        people[name] = await _credentials(connection, user_id, password, key)
    await _limit_user(connection, people[USER_NAME].account_id)
    return Identity(admin=admin, domain_admin=people[DOMAIN_ADMIN_NAME], user=people[USER_NAME])
