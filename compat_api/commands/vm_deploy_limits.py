"""Resource limits of a deploy: checked and counted in the create transaction.

As ResourceLimitManagerImpl does: lock the owner's count rows, compare count + reservation +
request with the account's limit, then with every domain's limit up to (not including)
ROOT, type by type, and raise the counts of the account and all its domains. Root admin
accounts are never limited. A refusal is ResourceAllocationException wrapped by the create
command: HTTP 535, cserrorcode 9999 (a ServerApiException), CloudStack's message.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.commands.accounts import load_defaults
from compat_api.commands.vm_deploy_checks import DeployOwner
from compat_api.commands.vm_deploy_inputs import human_size
from compat_api.responses import resourcelimit
from schema_bridge import directory, limits, vm_create
from schema_bridge.vm_create import CountKey

ROOT_DOMAIN_ID = 1
STORAGE_TYPES = frozenset({"primary_storage", "secondary_storage"})


def _shown(kind: str, value: int) -> str:
    return human_size(value) if kind in STORAGE_TYPES else str(value)


def _account_text(owner: DeployOwner, kind: str, numbers: tuple[int, int, int, int]) -> str:
    limit, count, reserved, asked = (_shown(kind, n) for n in numbers)
    who = (
        f"Project Name = {owner.project_name}"
        if owner.project_name
        else f"Account Name = {owner.account_name}"
    )
    return (
        f"Maximum amount of resources of Type = '{kind}', tag = 'null' for {who} in Domain Id "
        f"= {owner.domain_id} is exceeded: Account Resource Limit = {limit}, Current Account "
        f"Resource Amount = {count}, Current Account Resource Reservation = {reserved}, "
        f"Requested Resource Amount = {asked}."
    )


def _domain_text(domain_uuid: str, kind: str, numbers: tuple[int, int, int, int]) -> str:
    limit, count, reserved, asked = (_shown(kind, n) for n in numbers)
    return (
        f"Maximum domain resource limits of Type '{kind}' for Domain Id = {domain_uuid} is "
        f"exceeded: Domain Resource Limit = {limit}, Current Domain Resource Amount = {count}, "
        f"Current Resource Reservation = {reserved}, Requested Resource Amount = {asked}."
    )


def _refused(text: str) -> errors.ApiError:
    return errors.ApiError(errors.RESOURCE_ALLOCATION_ERROR, text, errors.CS_SERVER_API)


class _Limits:
    """The limits that apply to one owner, read once per deploy."""

    def __init__(
        self,
        owner: DeployOwner,
        chain: list[int],
        account_rows: dict[str, int],
        domain_rows: dict[int, dict[str, int]],
        defaults: resourcelimit.Defaults,
    ) -> None:
        self.owner, self.chain, self.defaults = owner, chain, defaults
        self.account_rows, self.domain_rows = account_rows, domain_rows

    def account(self, kind: resourcelimit.ResourceType) -> int:
        return resourcelimit.account_limit(
            self.account_rows.get(kind.name),
            kind,
            root_admin=self.owner.root_admin,
            project=self.owner.project_name is not None,
            defaults=self.defaults,
        )

    def domain(self, index: int, kind: resourcelimit.ResourceType) -> int:
        """The limit of chain[index]: its own, else the nearest parent's below ROOT."""
        below_root = [d for d in self.chain[index:] if d != ROOT_DOMAIN_ID]
        explicit = [self.domain_rows.get(d, {}) for d in below_root]
        is_root = self.chain[index] == ROOT_DOMAIN_ID
        return resourcelimit.domain_limit(explicit, kind, is_root=is_root, defaults=self.defaults)


async def _read_limits(conn: AsyncConnection, owner: DeployOwner, chain: list[int]) -> _Limits:
    account_rows = {r.type: r.max for r in await limits.account_limits(conn, [owner.account_id])}
    domain_rows: dict[int, dict[str, int]] = {}
    for row in await limits.domain_limits(conn, chain):
        if row.domain_id is not None:
            domain_rows.setdefault(int(row.domain_id), {})[row.type] = row.max
    return _Limits(owner, chain, account_rows, domain_rows, await load_defaults(conn))


async def _domain_uuid(conn: AsyncConnection, domain_id: int) -> str:
    found = await directory.domain_owner(conn, domain_id)
    return found.domain_uuid if found else str(domain_id)


async def take(conn: AsyncConnection, owner: DeployOwner, amounts: Mapping[str, int]) -> None:
    """Check every amount against the owner's limits, then count them all (or refuse)."""
    chain = await limits.domain_parents(conn, owner.domain_id)
    kinds = list(amounts)
    counts = await vm_create.lock_counts(conn, owner.account_id, chain, kinds)
    if not owner.root_admin:
        held = await vm_create.reserved(conn, owner.account_id, chain, kinds)
        applying = await _read_limits(conn, owner, chain)
        for name, asked in amounts.items():
            kind = resourcelimit.BY_NAME[name]
            key = CountKey("account", owner.account_id, name)
            numbers = (applying.account(kind), counts.get(key, 0), held.get(key, 0), asked)
            if numbers[0] != resourcelimit.UNLIMITED and sum(numbers[1:]) > numbers[0]:
                raise _refused(_account_text(owner, name, numbers))
            for index, domain_id in enumerate(chain):
                if domain_id == ROOT_DOMAIN_ID:
                    continue
                dkey = CountKey("domain", domain_id, name)
                limit = applying.domain(index, kind)
                numbers = (limit, counts.get(dkey, 0), held.get(dkey, 0), asked)
                if limit != resourcelimit.UNLIMITED and sum(numbers[1:]) > limit:
                    uuid = await _domain_uuid(conn, domain_id)
                    raise _refused(_domain_text(uuid, name, numbers))
    await vm_create.change_counts(conn, owner.account_id, chain, amounts)
