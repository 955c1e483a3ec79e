"""Users, accounts, domains and roles as authentication and scoping need them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import account, domain, role_permissions, roles, user


@dataclass(frozen=True)
class UserRecord:
    """A live (not removed) user with its account, domain and role."""

    user_id: int
    user_uuid: str
    username: str
    firstname: str | None
    lastname: str | None
    timezone: str | None
    user_state: str
    password: str | None
    api_key: str | None
    secret_key: str | None
    user_api_key_access: bool | None
    is_registered: bool
    account_id: int
    account_uuid: str
    account_name: str
    account_type: int
    account_state: str
    account_api_key_access: bool | None
    domain_id: int
    domain_uuid: str
    domain_name: str
    domain_path: str
    role_id: int | None
    role_type: str | None

    @property
    def enabled(self) -> bool:
        return self.user_state == "enabled" and self.account_state == "enabled"


@dataclass(frozen=True)
class RoleRule:
    rule: str
    permission: str
    sort_order: int


def _user_query() -> Select[tuple[object, ...]]:
    return (
        select(
            user.c.id,
            user.c.uuid,
            user.c.username,
            user.c.firstname,
            user.c.lastname,
            user.c.timezone,
            user.c.state,
            user.c.password,
            user.c.api_key,
            user.c.secret_key,
            user.c.api_key_access,
            user.c.is_registered,
            account.c.id,
            account.c.uuid,
            account.c.account_name,
            account.c.type,
            account.c.state,
            account.c.api_key_access,
            domain.c.id,
            domain.c.uuid,
            domain.c.name,
            domain.c.path,
            roles.c.id,
            roles.c.role_type,
        )
        .select_from(user.join(account, account.c.id == user.c.account_id))
        .join(domain, domain.c.id == account.c.domain_id)
        .outerjoin(roles, roles.c.id == account.c.role_id)
        .where(user.c.removed.is_(None), account.c.removed.is_(None), domain.c.removed.is_(None))
    )


def _record(row: tuple[object, ...]) -> UserRecord:
    values = list(row)
    for index in (10, 17):  # tri-state api_key_access flags
        values[index] = None if values[index] is None else bool(values[index])
    values[11] = bool(values[11])
    return UserRecord(*values)  # type: ignore[arg-type]


async def user_by_api_key(conn: AsyncConnection, api_key: str) -> UserRecord | None:
    row = (await conn.execute(_user_query().where(user.c.api_key == api_key))).first()
    return None if row is None else _record(tuple(row))


async def user_by_id(conn: AsyncConnection, user_id: int) -> UserRecord | None:
    row = (await conn.execute(_user_query().where(user.c.id == user_id))).first()
    return None if row is None else _record(tuple(row))


async def user_for_login(conn: AsyncConnection, username: str, domain_id: int) -> UserRecord | None:
    query = _user_query().where(user.c.username == username, account.c.domain_id == domain_id)
    row = (await conn.execute(query)).first()
    return None if row is None else _record(tuple(row))


async def domain_id_by_path(conn: AsyncConnection, path: str) -> int | None:
    query = select(domain.c.id).where(domain.c.path == path, domain.c.removed.is_(None))
    return (await conn.execute(query)).scalar()


async def domain_id_by_ref(conn: AsyncConnection, ref: str) -> int | None:
    """A domain by uuid or numeric internal id, as login's `domainid` accepts."""
    column = domain.c.id if ref.isdigit() else domain.c.uuid
    value: object = int(ref) if ref.isdigit() else ref
    query = select(domain.c.id).where(column == value, domain.c.removed.is_(None))
    return (await conn.execute(query)).scalar()


async def role_rules(conn: AsyncConnection, role_id: int) -> list[RoleRule]:
    query = (
        select(
            role_permissions.c.rule, role_permissions.c.permission, role_permissions.c.sort_order
        )
        .where(role_permissions.c.role_id == role_id)
        .order_by(role_permissions.c.sort_order, role_permissions.c.id)
    )
    return [RoleRule(r, p, o) for r, p, o in (await conn.execute(query)).all()]


async def set_api_keys(
    conn: AsyncConnection, user_id: int, api_key: str, stored_secret: str
) -> None:
    """Store new keys; `stored_secret` is already in the form the column keeps (encrypted)."""
    await conn.execute(
        user.update().where(user.c.id == user_id).values(api_key=api_key, secret_key=stored_secret)
    )


def domain_path_prefixes(path: str) -> list[str]:
    """The paths of the domain at `path` and of every domain above it, ROOT ("/") first."""
    prefixes = ["/"]
    parts = [p for p in path.strip("/").split("/") if p]
    for index in range(len(parts)):
        prefixes.append("/" + "/".join(parts[: index + 1]) + "/")
    return prefixes


async def ancestor_domain_ids(conn: AsyncConnection, path: str) -> tuple[int, ...]:
    """The domain at `path` and every domain above it (ROOT included)."""
    prefixes = domain_path_prefixes(path)
    query = select(domain.c.id).where(domain.c.path.in_(prefixes), domain.c.removed.is_(None))
    return tuple(int(i) for i in (await conn.execute(query)).scalars())


async def domain_ids_by_path(conn: AsyncConnection) -> dict[str, int]:
    """Every live domain's path and id."""
    query = select(domain.c.path, domain.c.id).where(domain.c.removed.is_(None))
    return {str(path): int(id_) for path, id_ in (await conn.execute(query)).all()}


@dataclass(frozen=True)
class AccountRef:
    id: int
    uuid: str
    name: str
    domain_id: int
    domain_path: str


async def subtree_domain_ids(conn: AsyncConnection, path: str) -> tuple[int, ...]:
    """The domain at `path` and every domain below it."""
    query = select(domain.c.id).where(
        domain.c.path.startswith(path, autoescape=True), domain.c.removed.is_(None)
    )
    return tuple(int(i) for i in (await conn.execute(query)).scalars())


async def domain_path_of(conn: AsyncConnection, domain_id: int) -> str | None:
    query = select(domain.c.path).where(domain.c.id == domain_id, domain.c.removed.is_(None))
    value = (await conn.execute(query)).scalar()
    return None if value is None else str(value)


async def account_by_name(conn: AsyncConnection, name: str, domain_id: int) -> AccountRef | None:
    query = (
        select(
            account.c.id, account.c.uuid, account.c.account_name, account.c.domain_id, domain.c.path
        )
        .select_from(account.join(domain, domain.c.id == account.c.domain_id))
        .where(
            account.c.account_name == name,
            account.c.domain_id == domain_id,
            account.c.removed.is_(None),
        )
    )
    row = (await conn.execute(query)).first()
    return None if row is None else AccountRef(*row)
