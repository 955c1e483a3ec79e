"""Bare facts about CloudStack's API commands, loaded from the shipped data file.

The file is produced by scripts/extract_api_facts.py; it holds names, types and flags only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class ParamFact:
    name: str
    type: str
    required: bool
    length: int = 255
    since: str | None = None
    entity: str | None = None
    collection_type: str | None = None
    authorized: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldFact:
    name: str
    json: str
    since: str | None = None
    always: bool = False
    visible_to: tuple[str, ...] = ()
    sensitive: bool = False
    fields: tuple[FieldFact, ...] = ()


@dataclass(frozen=True)
class CommandFacts:
    name: str
    isasync: bool
    category: str
    response_name: str
    params: tuple[ParamFact, ...]
    response_field_names: tuple[str, ...]
    # Fully qualified Java command classes (admin variant first when there is one).
    source_classes: tuple[str, ...] = ()
    # Known in detail only for the commands responses.json describes.
    object_name: str | None = None
    envelope: str | None = None
    async_create: bool = False
    fields: tuple[FieldFact, ...] = ()
    event_types: tuple[str, ...] = ()
    authorized_roles: tuple[str, ...] = ()


def _param(raw: dict[str, Any]) -> ParamFact:
    return ParamFact(
        name=raw["name"],
        type=raw["type"],
        required=raw["required"],
        # A few lengths are stored as text in the inventory ("4096").
        length=int(raw.get("length", 255)),
        since=raw.get("since"),
        entity=raw.get("entity"),
        collection_type=raw.get("collectionType"),
        authorized=tuple(raw.get("authorized", ())),
    )


def _field(raw: dict[str, Any]) -> FieldFact:
    return FieldFact(
        name=raw["name"],
        json=raw["json"],
        since=raw.get("since"),
        always=bool(raw.get("alwaysPresent", False)),
        visible_to=tuple(raw.get("visibleTo", ())),
        sensitive=bool(raw.get("sensitive", False)),
        fields=tuple(_field(f) for f in raw.get("fields", ())),
    )


def _classes(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    return tuple(raw or ())


def _command(name: str, raw: dict[str, Any]) -> CommandFacts:
    detail = raw.get("detail")
    base = CommandFacts(
        name=name,
        isasync=raw["isasync"],
        category=raw["category"],
        response_name=raw["responseName"],
        params=tuple(_param(p) for p in raw["params"]),
        response_field_names=tuple(f["name"] for f in raw["responseFields"]),
        source_classes=_classes(raw.get("sourceClass")),
    )
    if detail is None:
        return base
    return CommandFacts(
        name=name,
        isasync=raw["isasync"],
        category=raw["category"],
        response_name=raw["responseName"],
        # responses.json lists params more precisely (collection types, validations).
        params=tuple(_param(p) for p in detail["params"]) or base.params,
        response_field_names=base.response_field_names,
        source_classes=base.source_classes,
        object_name=detail["objectName"],
        envelope=detail["envelope"],
        async_create=detail["asyncCreate"],
        fields=tuple(_field(f) for f in detail["fields"]),
        event_types=tuple(detail["eventTypes"]),
        authorized_roles=tuple(detail["authorizedRoles"]),
    )


# Commands responses.json leaves out whose response object is another command's: they take
# its object name and fields, and keep their own params, async flag and envelope.
SAME_RESPONSE = {"changeServiceForVirtualMachine": "scaleVirtualMachine"}


def _borrowed(own: CommandFacts, sibling: CommandFacts) -> CommandFacts:
    return replace(
        own,
        object_name=sibling.object_name,
        envelope="async" if own.isasync else "object",
        fields=sibling.fields,
    )


@cache
def all_commands() -> dict[str, CommandFacts]:
    """Every command of the 4.22 inventory, by exact (case-sensitive) name."""
    text = resources.files("compat_api").joinpath("facts/api_commands.json").read_text()
    data = json.loads(text)["commands"]
    found = {name: _command(name, raw) for name, raw in data.items()}
    for name, sibling in SAME_RESPONSE.items():
        found[name] = _borrowed(found[name], found[sibling])
    return found


def facts_for(name: str) -> CommandFacts:
    return all_commands()[name]
