"""The route table as it stands: which backend answers each subsystem's commands.

Counted per subsystem for a caller no account, domain or canary route singles out (those
are listed by `stackshift route show`): "engine", "legacy", or "legacy/unknown" for a
command the engine lacks while no legacy server is configured. The status page and the
`stackshift_route_commands` metric show it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from compat_api.facts import all_commands
from compat_api.registry import Registry
from compat_api.routing import RouteTable
from compat_api.subsystems import SUBSYSTEMS, subsystem_of

ENGINE = "engine"
LEGACY = "legacy/unknown"
FORWARDED = "legacy"


@dataclass(frozen=True)
class RouteRow:
    subsystem: str
    backend: str
    commands: int


def route_table(registry: Registry, table: RouteTable | None = None) -> list[RouteRow]:
    """One row per (subsystem, backend) with the number of commands it answers."""
    table = table or RouteTable()
    counts: Counter[tuple[str, str]] = Counter()
    for name in all_commands():
        command = registry.get(name)
        decided = table.decide(command, name).backend
        backend = FORWARDED if decided == FORWARDED else (ENGINE if command else LEGACY)
        counts[(subsystem_of(name), backend)] += 1
    order = {name: index for index, name in enumerate(SUBSYSTEMS)}
    return [
        RouteRow(subsystem, backend, n)
        for (subsystem, backend), n in sorted(
            counts.items(), key=lambda item: (order.get(item[0][0], len(order)), item[0][1])
        )
    ]
