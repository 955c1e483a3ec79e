"""Two CloudStack answers made comparable: parsed, volatile fields dropped, lists keyed by id,
flattened to one value per field path.

A path names one value in one answer, `listvirtualmachinesresponse.virtualmachine[<id>].state`;
its generic form drops the root and the keys, `virtualmachine[].state`, so differences can be
counted per field over many answers whatever the objects were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import xmltodict

# Fields that legitimately differ between two answers to the same question: ids of the job
# that produced them, clocks, credentials of the session. Matched by name at any depth.
# jobid and jobstatus name whatever job is in flight at the instant of each call, and the two
# backends answer at different instants: a job pending for one is done for the other.
DEFAULT_VOLATILE = frozenset(
    {
        "jobid",
        "jobstatus",
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
    flat = {STATUS_FIELD: Field(STATUS_FIELD, STATUS_FIELD, str(status))}
    _Flattener(Ignore(DEFAULT_VOLATILE | frozenset(ignore)), flat).walk(parse(body), "", "", "")
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
        if not self.paths:
            return False
        lowered = generic.lower()
        return any(lowered == p or lowered.endswith("." + p) for p in self.paths)


def _is_path(entry: str) -> bool:
    return "." in entry or "[" in entry


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Flattener:
    """Walks a parsed answer into `out` (plain recursion: a big list answer has tens of
    thousands of values, and nested generators cost several times as much)."""

    def __init__(self, ignore: Ignore, out: Flat) -> None:
        self.ignore = ignore
        self.out = out

    def walk(self, node: Any, path: str, generic: str, name: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                child_generic = _join(generic, key) if path else ""
                if self.ignore(key, child_generic):
                    continue
                # XML cannot tell a one-item list from a nested object: an object with an id
                # is taken as a one-item list in either format, so both shapes flatten alike.
                if isinstance(value, dict) and _key_of(value) is not None:
                    value = [value]
                self.walk(value, _join(path, key), child_generic, key)
        elif isinstance(node, list):
            self.walk_list(node, path, generic)
        else:
            self.out[path] = Field(path, generic or path, _scalar(node, name))

    def walk_list(self, items: list[Any], path: str, generic: str) -> None:
        if not items:
            return
        if not all(isinstance(i, dict) for i in items):
            # A list of plain values is one value, whatever its order.
            value = json.dumps(sorted(_canonical(i) for i in items), ensure_ascii=False)
            self.out[path] = Field(path, generic or path, value)
            return
        keys = [_key_of(item) for item in items]
        if all(key is not None for key in keys) and len(set(keys)) == len(keys):
            labelled = list(zip(keys, items, strict=True))
        else:
            ordered = sorted(items, key=_canonical)
            labelled = [(f"#{index}", item) for index, item in enumerate(ordered)]
        item_generic = f"{generic}[]"
        for key, item in labelled:
            self.walk(item, f"{path}[{key}]", item_generic, "")


def _key_of(item: dict[str, Any]) -> str | None:
    for name in LIST_KEYS:
        value = item.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _scalar(value: Any, name: str) -> str:
    if value and name.lower() in SENSITIVE:
        return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:16]
    # XML has only text: true, 2 and "2" compare alike in either format.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
