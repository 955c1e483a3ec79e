"""Request parameters: name rules, typed parsing and the errors real servers give.

Names other than `command` and `response` are case-insensitive; values are parsed by the
declared type. uuid values stay strings here (syntax checked); the dispatcher resolves them
to internal ids against the database.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from compat_api import errors
from compat_api.facts import ParamFact
from compat_api.signing import parse_expires

_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
_MAP_KEY = re.compile(r"^([^\[\]]+)\[(\d+)\]\.([^\[\]]+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LIMITS = {"integer": 2**31, "short": 2**15, "long": 2**63}


@dataclass(frozen=True)
class UuidRef:
    """A uuid (or, for pre-3.0 params, numeric id) still to be resolved to an internal id."""

    param: str
    entity: str | None
    value: str


def merged(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Merge query and form pairs into one map keyed by lower-cased name; last one wins."""
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key.lower()] = value
    return out


def check_printable(pairs: Iterable[tuple[str, str]]) -> None:
    for key, value in pairs:
        if key.lower() != "activationrule" and _CONTROL.search(value):
            text = (
                "Received value containing illegal ASCII non-printable characters for "
                f"parameter {key}"
            )
            raise errors.ApiError(errors.PARAM_ERROR, text)


def map_params(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[int, dict[str, str]]]:
    """Collect `name[i].field=value` keys; a malformed one is refused with 430."""
    out: dict[str, dict[int, dict[str, str]]] = {}
    for key, value in pairs:
        if "[" not in key and "]" not in key:
            continue
        match = _MAP_KEY.match(key)
        if match is None:
            text = (
                f"Unable to decode parameter {key}; if specifying an object array, please use "
                "parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup"
            )
            raise errors.ApiError(errors.MALFORMED_PARAMETER_ERROR, text)
        name, index, field = match.group(1).lower(), int(match.group(2)), match.group(3)
        out.setdefault(name, {}).setdefault(index, {})[field] = value
    return out


def parse(
    command: str,
    declared: Iterable[ParamFact],
    raw: Mapping[str, str],
    maps: Mapping[str, dict[int, dict[str, str]]],
) -> dict[str, Any]:
    """Parse the declared params of `command`; unknown ones are ignored as the server does."""
    args: dict[str, Any] = {}
    for fact in declared:
        key = fact.name.lower()
        if fact.type == "map":
            if key in maps:
                args[key] = maps[key]
            elif fact.required:
                raise errors.missing_param(command, fact.name)
            continue
        value = raw.get(key)
        if value is None:
            if fact.required:
                raise errors.missing_param(command, fact.name)
            continue
        if fact.required and value.strip() == "":
            raise errors.empty_param(fact.name)
        parsed = parse_value(command, fact, value)
        if parsed is not None:
            args[key] = parsed
        elif fact.required:
            # A required value that is dropped (a non-uuid for a uuid param) was not given.
            raise errors.missing_param(command, fact.name)
    return args


def parse_value(command: str, fact: ParamFact, value: str) -> Any:
    """One value by its declared type; None means "treated as not given"."""
    kind = fact.type
    if kind == "boolean":
        return value.strip().lower() == "true"
    if kind in _LIMITS:
        return _parse_int(command, fact, value)
    if kind in ("double", "float"):
        if value.strip() == "":
            return None
        if not _FLOAT.match(value.strip()):
            raise errors.bad_value(command, value, fact.name)
        return float(value)
    if kind == "uuid":
        return _parse_uuid(command, fact, value)
    if kind == "list":
        return _parse_list(command, fact, value)
    if kind in ("date", "tzdate"):
        return parse_date(command, fact.name, value)
    return _parse_string(command, fact, value)


def _parse_int(command: str, fact: ParamFact, value: str) -> int:
    text = value.strip()
    limit = _LIMITS[fact.type]
    if not _INTEGER.match(text) or not -limit <= int(text) < limit:
        raise errors.bad_value(command, value, fact.name)
    return int(text)


def _parse_string(command: str, fact: ParamFact, value: str) -> str:
    if len(value) > fact.length:
        text = (
            f"Unable to execute API command {command.lower()} due to invalid value. Value greater "
            f"than max allowed length {fact.length} for param: {fact.name}"
        )
        raise errors.ApiError(errors.PARAM_ERROR, text)
    return value


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def _parse_uuid(command: str, fact: ParamFact, value: str) -> UuidRef | None:
    text = value.strip()
    if text == "-1" or is_uuid(text):
        return UuidRef(fact.name, fact.entity, text)
    if fact.since is not None:
        return None  # newer params silently ignore what is not a uuid
    # Params older than 3.0 (no `since`) still take the internal numeric id; anything else
    # fails the server's long conversion, with the same text as an unknown uuid.
    if text.isdigit():
        return UuidRef(fact.name, fact.entity, text)
    raise errors.unknown_uuid(command, fact.name, value)


def _parse_list(command: str, fact: ParamFact, value: str) -> list[Any]:
    items = [item for item in value.split(",") if item.strip() != ""]
    if fact.collection_type == "uuid" or (fact.collection_type is None and fact.entity):
        refs = (_parse_uuid(command, fact, item) for item in items)
        return [ref for ref in refs if ref is not None]
    return [item.strip() for item in items]


def parse_date(command: str, name: str, value: str) -> datetime:
    parsed = parse_expires(value)
    if parsed is not None:
        return parsed.astimezone(UTC)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            when = datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d" and name.lower() == "enddate":
            when = when.replace(hour=23, minute=59, second=59)
        return when
    text = (
        f"Unable to parse date {value} for command {command.lower()}, please pass dates in the "
        "format mentioned in the api documentation"
    )
    raise errors.ApiError(errors.PARAM_ERROR, text)


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int | None  # None = unlimited (pagesize=-1)


def paging(args: Mapping[str, Any], max_page_size: int) -> Paging:
    """CloudStack's page/pagesize rules; with neither given the page size cap still applies."""
    page, size = args.get("page"), args.get("pagesize")
    if page is not None and size is None:
        raise errors.invalid_parameter('"pagesize" parameter is required when "page" is specified')
    if size is not None and size == -1:
        if page is not None:
            raise errors.invalid_parameter(
                "Can't specify page parameter when pagesize is -1 (Unlimited)"
            )
        return Paging(0, None)
    if size is not None and page is None:
        raise errors.invalid_parameter('"page" parameter is required when "pagesize" is specified')
    if size is None:
        return Paging(0, max_page_size)
    if size > max_page_size:
        raise errors.invalid_parameter(
            f"Page size can't exceed max allowed page size value: {max_page_size}"
        )
    if size <= 0:
        raise errors.invalid_parameter(
            f"Page size can't exceed max allowed page size value: {max_page_size}"
        )
    first = max(page or 1, 1)
    return Paging((first - 1) * size, size)
