"""The route table as it stands: which backend answers each subsystem's commands.

Routing to the legacy server has not landed yet, so a command the registry implements is
served by stackshift's engine and every other one is "legacy/unknown"; the table (and the
`stackshift_route_commands` metric) shows exactly that, counted per subsystem.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from compat_api.facts import all_commands
from compat_api.registry import Registry
from compat_api.subsystems import SUBSYSTEMS, subsystem_of

ENGINE = "engine"
LEGACY = "legacy/unknown"


@dataclass(frozen=True)
class RouteRow:
    subsystem: str
    backend: str
    commands: int


def route_table(registry: Registry) -> list[RouteRow]:
    """One row per (subsystem, backend) with the number of commands it answers."""
    implemented = set(registry.names())
    counts: Counter[tuple[str, str]] = Counter()
    for name in all_commands():
        backend = ENGINE if name in implemented else LEGACY
        counts[(subsystem_of(name), backend)] += 1
    order = {name: index for index, name in enumerate(SUBSYSTEMS)}
    return [
        RouteRow(subsystem, backend, n)
        for (subsystem, backend), n in sorted(
            counts.items(), key=lambda item: (order.get(item[0][0], len(order)), item[0][1])
        )
    ]
