"""Who is calling: the user, account, domain and role behind a request."""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNT_USER = 0
ACCOUNT_ADMIN = 1
ACCOUNT_DOMAIN_ADMIN = 2
ACCOUNT_RESOURCE_ADMIN = 3
ACCOUNT_READ_ONLY_ADMIN = 4


@dataclass(frozen=True)
class Caller:
    user_id: int
    user_uuid: str
    username: str
    firstname: str | None
    lastname: str | None
    timezone: str | None
    account_id: int
    account_uuid: str
    account_name: str
    account_type: int
    domain_id: int
    domain_uuid: str
    domain_name: str
    domain_path: str
    role_id: int | None
    role_type: str

    @property
    def is_root_admin(self) -> bool:
        return self.account_type == ACCOUNT_ADMIN or self.role_type == "Admin"

    @property
    def is_domain_admin(self) -> bool:
        return self.role_type in ("DomainAdmin", "ResourceAdmin")

    @property
    def is_system(self) -> bool:
        return self.account_id == 1

    @property
    def pretty_domain_path(self) -> str:
        """ROOT/Customers style, as responses show `domainpath`."""
        return pretty_path(self.domain_path)


def pretty_path(path: str) -> str:
    inner = path.strip("/")
    return "ROOT" + (f"/{inner}" if inner else "")
