"""listSSHKeyPairs: registered public keys by name and fingerprint (never key material)."""

from __future__ import annotations

from typing import Any

from compat_api import errors
from compat_api.commands.accounts import list_scope
from compat_api.context import CallContext
from compat_api.listing import listed, page_of
from compat_api.params import is_uuid
from compat_api.registry import Command, declare
from compat_api.render import Result
from compat_api.responses import sshkeypair
from schema_bridge import keypairs


async def _keypair_id(ctx: CallContext, value: Any) -> int | None:
    """The dispatcher leaves key pair uuids unresolved; resolve (or refuse) them here."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    if text.isdigit() and int(text) < 2**63:
        return int(text)
    async with ctx.db.engine.connect() as conn:
        found = await keypairs.keypair_id_by_uuid(conn, text) if is_uuid(text) else None
    if found is None:
        raise errors.unknown_uuid(ctx.command.name, "id", text)
    return found


async def list_ssh_key_pairs(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    keypair_id = await _keypair_id(ctx, args.get("id"))
    scoped = await list_scope(ctx, args)
    filters = keypairs.KeypairFilter(
        id=keypair_id,
        name=args.get("name"),
        fingerprint=args.get("fingerprint"),
        keyword=args.get("keyword"),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
        admin_annotations=ctx.caller.is_root_admin,
    )
    async with ctx.db.engine.connect() as conn:
        page = await keypairs.keypairs_page(conn, filters, paging.offset, paging.limit)
    return listed(ctx, page, sshkeypair.present)


COMMANDS: list[Command] = [
    declare(
        "listSSHKeyPairs",
        subsystem="vm",
        handler=list_ssh_key_pairs,
        summary="SSH key pairs registered by the accounts the caller may see.",
    ),
]
