"""Taking and giving back resource counts under their limits, as CloudStack's resource manager.

`take` checks the owner account's limit (explicit `resource_limit` row, else the
max.account.* / max.project.* setting, else the built-in default; root admins are never
limited) and the limit of every domain above it below ROOT, then adds to the counts of the
account and of every domain up to ROOT. Each addition is one conditional UPDATE
(`count + n <= max`), so concurrent takers can never overshoot a limit: the loser sees zero
rows changed (or, on Galera, a certification conflict at COMMIT) and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge import configuration
from schema_bridge.tables import account, domain, resource_count, resource_limit

ROOT_DOMAIN_ID: Final = 1
ROOT_ADMIN_TYPE: Final = 1
PROJECT_TYPE: Final = 5
UNLIMITED: Final = -1
GIB: Final = 1024**3


@dataclass(frozen=True)
class Kind:
    """A resource type: its max.<owner>.<setting> suffix and built-in defaults."""

    setting: str
    account_default: int
    domain_default: int
    project_default: int
    in_gib: bool = False


# The types the engine's lifecycles move (defaults as in CloudStack's ResourceLimitService).
KINDS: Final[dict[str, Kind]] = {
    "user_vm": Kind("user.vms", 20, 40, 20),
    "public_ip": Kind("public.ips", 20, 40, 20),
    "volume": Kind("volumes", 20, 40, 20),
    "cpu": Kind("cpus", 40, 80, 40),
    "memory": Kind("memory", 40960, 81920, 40960),
    "primary_storage": Kind("primary.storage", 200, 400, 200, in_gib=True),
}


class LimitExceededError(Exception):
    """CloudStack's ResourceAllocationException (API code 535, cserrorcode 4370)."""


@dataclass(frozen=True)
class _Account:
    id: int
    name: str
    type: int
    domain_id: int


async def _account(conn: AsyncConnection, account_id: int) -> _Account:
    query = select(account.c.account_name, account.c.type, account.c.domain_id).where(
        account.c.id == account_id
    )
    row = (await conn.execute(query)).one()
    return _Account(account_id, str(row.account_name), int(row.type), int(row.domain_id))


async def domain_chain(conn: AsyncConnection, domain_id: int) -> list[int]:
    """`domain_id` and every domain above it, nearest first (ROOT last)."""
    chain: list[int] = []
    current: int | None = domain_id
    while current is not None and current not in chain:
        chain.append(current)
        parent = await conn.scalar(select(domain.c.parent).where(domain.c.id == current))
        current = None if parent is None else int(parent)
    return chain


async def _setting(conn: AsyncConnection, owner: str, kind: str) -> int:
    spec = KINDS[kind]
    name = f"max.{owner}.{spec.setting}"
    raw = (await configuration.values(conn, [name])).get(name)
    defaults = {
        "account": spec.account_default,
        "domain": spec.domain_default,
        "project": spec.project_default,
    }
    try:
        value = int(raw) if raw is not None else defaults[owner]
    except ValueError:
        value = defaults[owner]
    if value < 0:
        return UNLIMITED
    return value * GIB if spec.in_gib else value


async def _explicit(conn: AsyncConnection, kind: str, **owner: int) -> int | None:
    query = select(resource_limit.c.max).where(
        resource_limit.c.type == kind, resource_limit.c.tag.is_(None)
    )
    if "account_id" in owner:
        query = query.where(resource_limit.c.account_id == owner["account_id"])
    else:
        query = query.where(
            resource_limit.c.domain_id == owner["domain_id"], resource_limit.c.account_id.is_(None)
        )
    found = await conn.scalar(query)
    return None if found is None else int(found)


async def account_limit(conn: AsyncConnection, owner: _Account, kind: str) -> int:
    if owner.type == ROOT_ADMIN_TYPE:
        return UNLIMITED
    explicit = await _explicit(conn, kind, account_id=owner.id)
    if explicit is not None:
        return explicit
    return await _setting(conn, "project" if owner.type == PROJECT_TYPE else "account", kind)


async def _domain_limit(conn: AsyncConnection, chain: list[int], kind: str) -> int:
    """The nearest explicit limit of the domain or its parents below ROOT, else the default."""
    for domain_id in chain:
        if domain_id == ROOT_DOMAIN_ID:
            return UNLIMITED
        explicit = await _explicit(conn, kind, domain_id=domain_id)
        if explicit is not None:
            return explicit
    return await _setting(conn, "domain", kind)


def _owner_clause(kind: str, owner: dict[str, int]) -> list[Any]:
    column = resource_count.c.account_id if "account_id" in owner else resource_count.c.domain_id
    value = owner["account_id"] if "account_id" in owner else owner["domain_id"]
    return [resource_count.c.type == kind, resource_count.c.tag.is_(None), column == value]


async def _add(conn: AsyncConnection, kind: str, amount: int, **owner: int) -> None:
    where = _owner_clause(kind, owner)
    await conn.execute(
        update(resource_count).where(*where).values(count=resource_count.c.count + amount)
    )


async def _add_within(
    conn: AsyncConnection, kind: str, amount: int, limit: int, **owner: int
) -> bool:
    """Add `amount` unless the count would pass `limit`; True when added (or no row exists)."""
    where = _owner_clause(kind, owner)
    if limit == UNLIMITED or amount <= 0:
        await _add(conn, kind, amount, **owner)
        return True
    changed = await conn.execute(
        update(resource_count)
        .where(*where, resource_count.c.count + amount <= limit)
        .values(count=resource_count.c.count + amount)
    )
    if changed.rowcount == 1:
        return True
    # No row at all (an account created without counts) is not a limit: nothing to refuse.
    return (await conn.execute(select(resource_count.c.id).where(*where))).first() is None


async def take(conn: AsyncConnection, account_id: int, kind: str, amount: int) -> None:
    """Add `amount` of `kind` to the account and its domains inside the caller's transaction,
    or raise LimitExceededError (the caller rolls back; nothing is half-counted then)."""
    owner = await _account(conn, account_id)
    limit = await account_limit(conn, owner, kind)
    if not await _add_within(conn, kind, amount, limit, account_id=owner.id):
        raise LimitExceededError(
            f"Maximum number of resources of type '{kind}' for account name={owner.name} "
            f"in domain id={owner.domain_id} has been exceeded."
        )
    chain = await domain_chain(conn, owner.domain_id)
    for index, domain_id in enumerate(chain):
        limit = await _domain_limit(conn, chain[index:], kind)
        if not await _add_within(conn, kind, amount, limit, domain_id=domain_id):
            raise LimitExceededError(
                f"Maximum number of resources of type '{kind}' for domain id={domain_id} "
                "has been exceeded."
            )


async def give_back(conn: AsyncConnection, account_id: int, kind: str, amount: int) -> None:
    """Subtract `amount` of `kind` from the account and every domain above it."""
    owner = await _account(conn, account_id)
    await _add(conn, kind, -amount, account_id=owner.id)
    for domain_id in await domain_chain(conn, owner.domain_id):
        await _add(conn, kind, -amount, domain_id=domain_id)
