"""Shadow comparison counts over a window: since a cutover step began.

The shadow mirror only ever adds to its counters (schema_bridge/shadow_diffs.py), so a
step keeps a copy of its subsystem's whole-answer counters when it starts and what the
step measured is the difference. The rate is Diffy-flavoured: the share of answers the
other backend got wrong minus the share the primary got "wrong" against itself (noise).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from compat_api.shadow_stats import COMMAND_FIELD
from schema_bridge import shadow_diffs
from schema_bridge.db import Database


@dataclass(frozen=True)
class Counts:
    samples: int = 0
    diffs: int = 0
    noise_samples: int = 0
    noise_diffs: int = 0

    def minus(self, base: Counts) -> Counts:
        if self.samples < base.samples:  # counters were reset since: all of now is new
            return self
        return Counts(
            self.samples - base.samples,
            max(self.diffs - base.diffs, 0),
            max(self.noise_samples - base.noise_samples, 0),
            max(self.noise_diffs - base.noise_diffs, 0),
        )

    def as_list(self) -> list[int]:
        return [self.samples, self.diffs, self.noise_samples, self.noise_diffs]

    @staticmethod
    def of(values: list[int]) -> Counts:
        return Counts(*(int(v) for v in values[:4]))


@dataclass(frozen=True)
class WindowRate:
    samples: int
    rate: float
    # The command contributing most differing answers, for the operator to look at.
    worst: str | None


async def snapshot(db: Database, commands: Collection[str]) -> dict[str, Counts]:
    """Whole-answer counters of `commands` as stored now."""
    wanted = set(commands)
    rows = await shadow_diffs.fields(db)
    return {
        row.command: Counts(row.samples, row.diffs, row.noise_samples, row.noise_diffs)
        for row in rows
        if row.field == COMMAND_FIELD and row.command in wanted
    }


def window(now: Mapping[str, Counts], base: Mapping[str, Counts]) -> dict[str, Counts]:
    return {name: counts.minus(base.get(name, Counts())) for name, counts in now.items()}


def rate_of(counts: Mapping[str, Counts]) -> WindowRate:
    samples = sum(c.samples for c in counts.values())
    if samples == 0:
        return WindowRate(0, 0.0, None)
    raw = sum(c.diffs for c in counts.values()) / samples
    noise_samples = sum(c.noise_samples for c in counts.values())
    noise = sum(c.noise_diffs for c in counts.values()) / noise_samples if noise_samples else 0.0
    worst = max(counts.items(), key=lambda item: item[1].diffs)
    return WindowRate(samples, max(raw - noise, 0.0), worst[0] if worst[1].diffs else None)
