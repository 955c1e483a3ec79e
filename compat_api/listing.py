"""What every list command shares: paging arguments and the list result."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from compat_api.context import CallContext
from compat_api.params import Paging, paging
from compat_api.render import ListResult
from schema_bridge.paging import Page


def page_of(ctx: CallContext, args: dict[str, Any]) -> Paging:
    return paging(args, ctx.config.max_page_size)


def ids_of(args: dict[str, Any]) -> tuple[int, ...]:
    """`id` and `ids` together, as the filter on the primary key."""
    found: list[int] = []
    if isinstance(args.get("id"), int):
        found.append(args["id"])
    found.extend(i for i in args.get("ids", ()) if isinstance(i, int))
    return tuple(found)


def wants_id(args: dict[str, Any]) -> bool:
    return "id" in args or "ids" in args


def listed(
    ctx: CallContext,
    page: Page,
    present: Callable[[Any], dict[str, Any]],
) -> ListResult:
    object_name = ctx.command.object_name or ctx.command.name.lower()
    return ListResult([present(row) for row in page.rows], page.total, object_name)


def empty(ctx: CallContext) -> ListResult:
    return ListResult([], 0, ctx.command.object_name or "")


def present_all(
    rows: Iterable[Any], present: Callable[[Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    return [present(row) for row in rows]
