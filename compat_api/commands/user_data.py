"""listUserData: the registered user data scripts the deploy wizard offers."""

from __future__ import annotations

from typing import Any

from compat_api import errors, shapes
from compat_api.commands.accounts import list_scope
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.params import is_uuid
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from compat_api.responses.owned import PROJECT_TYPE
from schema_bridge import user_data

USER_DATA = shapes.Shape("userdata", facts_for("listUserData").response_field_names, {})


async def _user_data_id(ctx: CallContext, value: Any) -> int | None:
    """The dispatcher leaves user data uuids unresolved; resolve (or refuse) them here."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    async with ctx.db.engine.connect() as conn:
        found = await user_data.id_by_uuid(conn, text) if is_uuid(text) else None
    if found is None:
        raise errors.unknown_uuid(ctx.command.name, "id", text)
    return found


def _present(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_TYPE
    return USER_DATA.build(
        {
            "id": row.uuid,
            "name": row.name,
            "account": None if project else row.account_name,
            "projectid": row.project_uuid if project else None,
            "project": row.project_name if project else None,
            "domainid": row.domain_uuid,
            "domain": row.domain_name,
            # This response's owner is filled from the domain as stored, not the pretty path.
            "domainpath": row.domain_path,
            "userdata": row.user_data,
            "params": row.params,
            "hasannotations": bool(row.has_annotations),
        }
    )


async def list_user_data(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    wanted = await _user_data_id(ctx, args.get("id"))
    scoped = await list_scope(ctx, args)
    f = user_data.UserDataFilter(
        id=wanted,
        name=args.get("name"),
        keyword=args.get("keyword"),
        account_ids=scoped.scope.account_ids,
        domain_ids=scoped.scope.domain_ids,
        exclude_projects=scoped.exclude_projects,
        admin_annotations=ctx.caller.is_root_admin,
    )
    async with ctx.db.engine.connect() as conn:
        page = await user_data.user_data_page(conn, f, paging.offset, paging.limit)
    return ListResult([_present(row) for row in page.rows], page.total, USER_DATA.name)


COMMANDS: list[Command] = [
    declare(
        "listUserData",
        subsystem="vm",
        handler=list_user_data,
        summary="Registered user data scripts of the accounts the caller may see, newest first.",
    ),
]
