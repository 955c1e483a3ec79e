"""Checks every list command's test shares: item fields in the facts' order with the facts'
JSON types, contract paging, and CloudStack's bad-input errors."""

from __future__ import annotations

import re
import uuid
from typing import Any

from compat_api.facts import FieldFact, facts_for
from schema_bridge.seed_identity import Credentials
from tests.compat_api.conftest import Api

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
UNKNOWN = str(uuid.UUID(int=0x0D6E5F419A7B4C3D8E2F1A0B9C8D7E6F))
# listApis type names (used where a command has no detailed facts) → responses.json names.
_BARE_TYPES = {
    "long": "integer",
    "int": "integer",
    "short": "integer",
    "map": "object(map)",
    "list": "array<object>",
}


def _type_ok(json_type: str, value: Any) -> bool:
    kind = _BARE_TYPES.get(json_type, json_type)
    if kind == "any":
        return True
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and DATE.match(value) is not None
    if kind.startswith("array"):
        return isinstance(value, list)
    if kind.startswith("object"):
        return isinstance(value, dict)
    return isinstance(value, str)


def _check(fields: tuple[FieldFact, ...], item: dict[str, Any], where: str) -> None:
    order = [f.name for f in fields]
    unknown = [name for name in item if name not in order]
    assert not unknown, f"{where}: fields not in the facts: {unknown}"
    assert list(item) == [name for name in order if name in item], f"{where}: field order"
    for fact in fields:
        if fact.always:
            assert fact.name in item, f"{where}: primitive {fact.name} missing"
        if fact.name in item:
            value = item[fact.name]
            assert _type_ok(fact.json, value), f"{where}.{fact.name}: {value!r} is not {fact.json}"
            if fact.fields and isinstance(value, list):
                for child in value:
                    _check(fact.fields, child, f"{where}.{fact.name}")


def check_items(command: str, items: list[dict[str, Any]]) -> None:
    """Every item has only the facts' fields, in their order, with their JSON types (names
    and order only for commands without detailed facts: see check_types_bare)."""
    facts = facts_for(command)
    fields = facts.fields or tuple(FieldFact(name, "any") for name in facts.response_field_names)
    for item in items:
        _check(fields, item, command)


def check_types_bare(command: str, items: list[dict[str, Any]], types: dict[str, str]) -> None:
    """For commands without detailed facts: the listApis types of the fields present."""
    for item in items:
        for name, value in item.items():
            assert _type_ok(types.get(name, "string"), value), f"{command}.{name}: {value!r}"


async def listed(api: Api, command: str, who: Credentials, **params: Any) -> tuple[int, list[Any]]:
    """(count, items) of a list call that must succeed."""
    reply = await api.signed(command, who, **params)
    root = facts_for(command).response_name
    assert reply.status == 200, reply.text
    inner = reply.inner(root)
    if not inner:
        return 0, []
    object_name = next((key for key in inner if key != "count"), None)
    return int(inner["count"]), inner[object_name] if object_name else []


async def check_paging(api: Api, command: str, who: Credentials, **params: Any) -> None:
    """count is the total on every page; a page past the end carries only the count."""
    total, items = await listed(api, command, who, **params)
    assert total == len(items) and total >= 2, (total, len(items))
    seen = []
    for page in range(1, total + 1):
        count, one = await listed(api, command, who, page=page, pagesize=1, **params)
        assert count == total and len(one) == 1
        seen.append(one[0])
    assert seen == items
    root = facts_for(command).response_name
    past = await api.signed(command, who, page=total + 1, pagesize=1, **params)
    assert past.status == 200 and past.inner(root) == {"count": total}


async def check_bad_input(api: Api, command: str, who: Credentials, **params: Any) -> None:
    """Malformed page, unknown uuid, oversized page: CloudStack's 431s, never a 500."""
    facts = facts_for(command)
    root, lower = facts.response_name, command.lower()
    reply = await api.signed(command, who, page="abc", pagesize=10, **params)
    assert reply.error(root) == (
        431,
        9999,
        f"Unable to execute API command {lower} due to invalid value abc for parameter page",
    )
    reply = await api.signed(command, who, id=UNKNOWN, **params)
    assert reply.error(root) == (
        431,
        9999,
        f"Unable to execute API command {lower} due to invalid value. Invalid parameter id "
        f"value={UNKNOWN} due to incorrect long value format, or entity does not exist or due to "
        "incorrect parameter annotation for the field in api cmd class.",
    )
    reply = await api.signed(command, who, page=1, pagesize=501, **params)
    assert reply.error(root) == (
        431,
        4350,
        "Page size can't exceed max allowed page size value: 500",
    )


async def check_admin_only(api: Api, command: str, who: Credentials) -> None:
    reply = await api.signed(command, who)
    assert reply.status == 432
    assert reply.error("errorresponse") == (
        432,
        9999,
        f"The API [{command}] does not exist or is not available for the account for user id "
        f"[{who.user_uuid}].",
    )
