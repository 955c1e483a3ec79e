"""listConfigurations: global settings, or one resource's view of its scope's settings."""

from __future__ import annotations

from typing import Any

from compat_api import errors, shapes
from compat_api.commands.accounts import account_in_reach, is_normal_user, reachable_domain
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import ADMINS, Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import configurations

CONFIGURATION = shapes.Shape(
    "configuration", facts_for("listConfigurations").response_field_names, {}
)
# Parameter naming a resource → (the configuration.scope it selects, the answer's scope).
SCOPE_PARAMS = {
    "zoneid": ("Zone", "zone"),
    "clusterid": ("Cluster", "cluster"),
    "storageid": ("StoragePool", "storagepool"),
    "accountid": ("Account", "account"),
    "domainid": ("Domain", "domain"),
    "imagestoreuuid": ("ImageStore", "imagestore"),
}


async def _scope(ctx: CallContext, conn: Any, args: dict[str, Any]) -> tuple[str, str, int] | None:
    """(scope, answer's scope name, resource id) when a resource was named. Domain admins
    see their domain's values and users their account's unless they name another they reach."""
    caller = ctx.caller
    wanted = {p: args[p] for p in SCOPE_PARAMS if isinstance(args.get(p), int) and args[p] > 0}
    if "accountid" not in wanted and "domainid" not in wanted:
        if caller.is_domain_admin:
            wanted["domainid"] = caller.domain_id
        elif is_normal_user(caller):
            wanted["accountid"] = caller.account_id
    if "accountid" in wanted:
        await account_in_reach(conn, caller, wanted["accountid"])
    if "domainid" in wanted:
        await reachable_domain(conn, caller, wanted["domainid"])
    named = list(wanted.items())
    if len(named) > 1:
        raise errors.invalid_parameter(
            "cannot handle multiple IDs, provide only one ID corresponding to the scope"
        )
    if not named:
        return None
    param, resource_id = named[0]
    scope, answered = SCOPE_PARAMS[param]
    return scope, answered, resource_id


async def _filter(
    conn: Any, args: dict[str, Any], scope: str | None
) -> configurations.SettingFilter:
    group = subgroup = None
    if args.get("group") is not None:
        group = await configurations.group_id(conn, args["group"])
        if group is None:
            raise errors.invalid_parameter(f"Invalid configuration group: {args['group']}")
    if args.get("subgroup") is not None:
        subgroup = await configurations.subgroup_id(conn, args["subgroup"])
        if subgroup is None:
            raise errors.invalid_parameter(f"Invalid configuration subgroup: {args['subgroup']}")
    return configurations.SettingFilter(
        name=args.get("name"),
        category=args.get("category"),
        keyword=args.get("keyword"),
        group_id=group,
        subgroup_id=subgroup,
        parent=args.get("parent"),
        scope=scope,
    )


def _present(row: Any, value: str | None, scope_name: str | None, key_set: bool) -> dict[str, Any]:
    # Secure values are stored encrypted; answered only as that ciphertext, never decrypted.
    if row.category == configurations.SECURE and not key_set:
        value = None  # without an installation key the stored value is plain text
    return CONFIGURATION.build(
        {
            "category": row.category,
            "group": row.group_name,
            "subgroup": row.subgroup_name,
            "name": row.name,
            "value": value,
            "defaultvalue": row.default_value,
            "scope": scope_name,
            "description": row.description,
            "isdynamic": bool(row.is_dynamic),
            "component": row.component,
            "parent": row.parent,
            "displaytext": row.display_text,
            "type": row.kind,
            "options": row.options,
        }
    )


def _scoped_value(row: Any, own: dict[str, str | None]) -> str | None:
    """A resource's value: its own, else the global one, else the default (as ConfigKey)."""
    for value in (own.get(row.name), row.value, row.default_value):
        if value is not None:
            return value
    return None


async def list_configurations(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    async with ctx.db.engine.connect() as conn:
        scoped = await _scope(ctx, conn, args)
        f = await _filter(conn, args, scoped[0] if scoped else None)
        page = await configurations.settings_page(conn, f, paging.offset, paging.limit)
        own: dict[str, str | None] = {}
        if scoped is not None:
            names = [row.name for row in page.rows]
            own = await configurations.overrides(conn, scoped[0], scoped[2], names)
    key_set = ctx.settings is not None and bool(ctx.settings.encryption_key)
    items = [
        _present(
            row,
            _scoped_value(row, own) if scoped else row.value,
            scoped[1] if scoped else None,
            key_set,
        )
        for row in page.rows
    ]
    # As upstream, a scoped answer counts the settings on this page only.
    total = len(items) if scoped is not None else page.total
    return ListResult(items, total, CONFIGURATION.name)


COMMANDS: list[Command] = [
    declare(
        "listConfigurations",
        subsystem="infra",
        handler=list_configurations,
        roles=ADMINS,
        summary="Global settings by name, category or group (never the hidden ones); with a "
        "zone, cluster, storage pool, account, domain or image store, that resource's values "
        "(a domain admin's own domain, a user's own account, when the role allows them).",
    ),
]
