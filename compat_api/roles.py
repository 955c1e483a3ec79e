"""Dynamic role checks: role_permissions rules, first match wins, static defaults after."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from schema_bridge.accounts import RoleRule


@dataclass(frozen=True)
class CompiledRule:
    pattern: re.Pattern[str]
    allow: bool


@cache
def _compile(rule: str) -> re.Pattern[str]:
    # `*` matches any run of word characters; matching is anchored and case-insensitive.
    parts = (re.escape(part) for part in rule.split("*"))
    return re.compile(r"\w*".join(parts), re.IGNORECASE)


def compile_rules(rules: Iterable[RoleRule]) -> tuple[CompiledRule, ...]:
    ordered = sorted(rules, key=lambda r: r.sort_order)
    return tuple(CompiledRule(_compile(r.rule), r.permission.upper() == "ALLOW") for r in ordered)


def allowed(
    command: str,
    role_id: int | None,
    role_type: str,
    rules: tuple[CompiledRule, ...],
    default_roles: frozenset[str],
) -> bool:
    """Root Admin (role 1) may do anything; otherwise the first matching rule decides, and
    with no match the command's static default roles do."""
    if role_id == 1 and role_type == "Admin":
        return True
    for rule in rules:
        if rule.pattern.fullmatch(command):
            return rule.allow
    return role_type in default_roles
