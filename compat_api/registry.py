"""The command registry: one declaration per implemented command.

A declaration names the command, the subsystem that owns it, who may call it by default,
a summary in our own words and the handler. Params, types, required flags, the async flag
and the response shape come from the shipped API facts, so validation, listApis, role
checks, docs and routing all read one source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compat_api.facts import CommandFacts, ParamFact, facts_for
from compat_api.subsystems import subsystem_of

if TYPE_CHECKING:
    from compat_api.context import CallContext
    from compat_api.render import Result

Handler = Callable[["CallContext", dict[str, Any]], Awaitable["Result"]]

ADMIN = "Admin"
RESOURCE_ADMIN = "ResourceAdmin"
DOMAIN_ADMIN = "DomainAdmin"
USER = "User"
ALL_ROLES = frozenset({ADMIN, RESOURCE_ADMIN, DOMAIN_ADMIN, USER})
ADMINS = frozenset({ADMIN})

# Commands whose listApis response has no object items; they are answered flat.
AUTHENTICATORS = frozenset({"login", "logout"})


@dataclass(frozen=True)
class Command:
    name: str
    subsystem: str
    summary: str
    handler: Handler
    roles: frozenset[str]
    facts: CommandFacts
    extra_params: tuple[ParamFact, ...] = field(default=())

    @property
    def isasync(self) -> bool:
        return self.facts.isasync

    @property
    def response_name(self) -> str:
        return self.facts.response_name

    @property
    def object_name(self) -> str | None:
        return self.facts.object_name

    @property
    def params(self) -> tuple[ParamFact, ...]:
        return self.facts.params + self.extra_params


def declare(
    name: str,
    *,
    subsystem: str,
    summary: str,
    handler: Handler,
    roles: Iterable[str] = ALL_ROLES,
) -> Command:
    expected = subsystem_of(name)
    if subsystem != expected:
        raise ValueError(f"{name} belongs to subsystem {expected}, not {subsystem}")
    return Command(name, subsystem, summary, handler, frozenset(roles), facts_for(name))


class Registry:
    """The implemented commands, looked up by exact name."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self._by_name: dict[str, Command] = {}
        for command in commands:
            if command.name in self._by_name:
                raise ValueError(f"command {command.name} declared twice")
            self._by_name[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name)

    def __iter__(self) -> Any:
        return iter(sorted(self._by_name.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> list[str]:
        return sorted(self._by_name)
