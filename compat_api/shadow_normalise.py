"""Two CloudStack answers made comparable: parsed, volatile fields dropped, lists keyed by id,
flattened to one value per field path.

A path names one value in one answer, `listvirtualmachinesresponse.virtualmachine[<id>].state`;
its generic form drops the root and the keys, `virtualmachine[].state`, so differences can be
counted per field over many answers whatever the objects were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import xmltodict

# Fields that legitimately differ between two answers to the same question: ids of the job
# that produced them, clocks, credentials of the session. Matched by name at any depth.
DEFAULT_VOLATILE = frozenset(
    {
        "jobid",
        "created",
        "lastupdated",
        "lastannotated",
        "completed",
        "lastpinged",
        "timestamp",
        "sessionkey",
    }
)
# Credentials are compared by digest: a difference is still found, but neither the value nor
# anything that reveals it reaches the stored example pairs (names: the facts' sensitive fields).
SENSITIVE = frozenset({"apikey", "password", "privatekey", "secretkey", "sessionkey"})
# A list of objects is keyed by the first of these every item has; otherwise it is sorted.
LIST_KEYS = ("id",)
STATUS_FIELD = "@status"


@dataclass(frozen=True)
class Field:
    path: str
    generic: str
    value: str


Flat = dict[str, Field]


def parse(body: bytes) -> Any:
    """The answer as a tree: JSON when it looks like JSON, else XML (xmltodict's shape)."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return {}
    if text[0] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return {"@unparsed": text}
    try:
        return xmltodict.parse(text)
    except Exception:  # xmltodict raises expat's errors and a few of its own
        return {"@unparsed": text}


def normalise(status: int, body: bytes, ignore: Iterable[str] = ()) -> Flat:
    """Every field of the answer except the volatile and ignored ones, by path."""
    rules = Ignore(DEFAULT_VOLATILE | frozenset(ignore))
    flat = {STATUS_FIELD: Field(STATUS_FIELD, STATUS_FIELD, str(status))}
    for field in _walk(parse(body), "", "", rules):
        flat[field.path] = field
    return flat


class Ignore:
    """Names match a field at any depth; entries with a dot or brackets match a generic path
    (`nic[].macaddress`) or its tail."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.names = frozenset(e.lower() for e in entries if not _is_path(e))
        self.paths = tuple(e.lower() for e in entries if _is_path(e))

    def __call__(self, name: str, generic: str) -> bool:
        if name.lower() in self.names:
            return True
        lowered = generic.lower()
        return any(lowered == p or lowered.endswith("." + p) for p in self.paths)


def _is_path(entry: str) -> bool:
    return "." in entry or "[" in entry


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(node: Any, path: str, generic: str, ignore: Ignore) -> Iterator[Field]:
    if isinstance(node, dict):
        for name, value in node.items():
            child_generic = _join(generic, name) if path else ""
            if ignore(name, child_generic):
                continue
            yield from _child(value, _join(path, name), child_generic, ignore)
    elif isinstance(node, list):
        yield from _walk_list(node, path, generic, ignore)
    else:
        yield Field(path, generic or path, _scalar(node, path))


def _child(value: Any, path: str, generic: str, ignore: Ignore) -> Iterator[Field]:
    # XML cannot tell a one-item list from a nested object: an object with an id is taken
    # as a one-item list in either format, so both shapes flatten alike.
    if isinstance(value, dict) and _key_of(value) is not None:
        value = [value]
    yield from _walk(value, path, generic, ignore)


def _walk_list(items: list[Any], path: str, generic: str, ignore: Ignore) -> Iterator[Field]:
    if not items:
        return
    if not all(isinstance(i, dict) for i in items):
        # A list of plain values is one value, whatever its order.
        value = json.dumps(sorted(_canonical(i) for i in items), ensure_ascii=False)
        yield Field(path, generic, value)
        return
    keys = [_key_of(item) for item in items]
    if all(key is not None for key in keys) and len(set(keys)) == len(keys):
        labelled = list(zip(keys, items, strict=True))
    else:
        ordered = sorted(items, key=_canonical)
        labelled = [(f"#{index}", item) for index, item in enumerate(ordered)]
    for key, item in labelled:
        yield from _walk(item, f"{path}[{key}]", f"{generic}[]", ignore)


def _key_of(item: dict[str, Any]) -> str | None:
    for name in LIST_KEYS:
        value = item.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _scalar(value: Any, path: str) -> str:
    if path.rpartition(".")[2].lower() in SENSITIVE and value:
        return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:16]
    # XML has only text: true, 2 and "2" compare alike in either format.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
