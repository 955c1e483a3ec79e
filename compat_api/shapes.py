"""Response objects in the field order CloudStack emits, with nulls left out.

Presenters build a plain dict of values; `Shape.build` orders it by the facts' field list
(subclass fields first, jobid/jobstatus last) and refuses names the response class does
not have, so a typo cannot silently invent a field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from compat_api.facts import FieldFact, facts_for

# Refusing unknown field names costs a set difference per object; the test suite turns it
# on (STACKSHIFT_STRICT_SHAPES=1), production serving of 500-VM pages leaves it off.
STRICT = os.environ.get("STACKSHIFT_STRICT_SHAPES") == "1"


@dataclass(frozen=True)
class Shape:
    name: str
    order: tuple[str, ...]
    nested: dict[str, Shape]

    def build(self, values: dict[str, Any]) -> dict[str, Any]:
        if STRICT:
            unknown = values.keys() - set(self.order)
            if unknown:
                raise KeyError(f"{self.name} has no field(s) {sorted(unknown)}")
        get = values.get
        return {name: value for name in self.order if (value := get(name)) is not None}

    def child(self, field: str) -> Shape:
        return self.nested[field]


def _shape(name: str, fields: tuple[FieldFact, ...]) -> Shape:
    nested = {f.name: _shape(f"{name}.{f.name}", f.fields) for f in fields if f.fields}
    return Shape(name, tuple(f.name for f in fields), nested)


@cache
def of(command: str) -> Shape:
    """The item shape of `command`'s response (its object, or its flat fields)."""
    facts = facts_for(command)
    return _shape(facts.object_name or facts.response_name, facts.fields)
