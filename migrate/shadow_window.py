"""Shadow comparison counts over a window: since a cutover step began.

The shadow mirror only ever adds to its per-(command, field) counters
(schema_bridge/shadow_diffs.py), so a step keeps a copy of its subsystem's counters when it
starts and what the step measured is the difference. The verdict is the mirror's own
Diffy rule (compat_api/shadow_stats.Thresholds) applied to that difference: a field counts
only when the other backend disagrees with the primary clearly more often than the primary
disagrees with itself; a command's rate is its worst such field's, the subsystem's the
worst command's (as compat_api/shadow_report.subsystem_rate does over all time).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from compat_api.shadow_stats import COMMAND_FIELD, FieldCounts, Thresholds
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


# command -> field -> counts (field "*" is the whole answer).
Snapshot = dict[str, dict[str, Counts]]


@dataclass(frozen=True)
class WindowRate:
    samples: int
    rate: float
    # The worst differing field as command:field, for the operator to look at.
    worst: str | None


async def snapshot(db: Database, commands: Collection[str]) -> Snapshot:
    """The counters of `commands` as stored now."""
    wanted = set(commands)
    found: Snapshot = {}
    for row in await shadow_diffs.fields(db):
        if row.command in wanted:
            counts = Counts(row.samples, row.diffs, row.noise_samples, row.noise_diffs)
            found.setdefault(row.command, {})[row.field] = counts
    return found


def window(now: Snapshot, base: Mapping[str, Mapping[str, Counts]]) -> Snapshot:
    return {
        command: {name: c.minus(base.get(command, {}).get(name, Counts())) for name, c in f.items()}
        for command, f in now.items()
    }


def rate_of(counts: Snapshot, thresholds: Thresholds | None = None) -> WindowRate:
    rule = thresholds or Thresholds()
    samples = sum(f.get(COMMAND_FIELD, Counts()).samples for f in counts.values())
    worst: tuple[float, str] | None = None
    for command, fields in sorted(counts.items()):
        for name, c in sorted(fields.items()):
            measured = FieldCounts(c.samples, c.diffs, c.noise_samples, c.noise_diffs)
            if name == COMMAND_FIELD or not rule.differs(measured):
                continue
            if worst is None or measured.rate > worst[0]:
                worst = (measured.rate, f"{command}:{name}")
    if worst is None:
        return WindowRate(samples, 0.0, None)
    return WindowRate(samples, worst[0], worst[1])


def compact(found: Snapshot) -> Snapshot:
    """Only the whole-answer counters and the fields that ever differed."""
    return {
        command: {n: c for n, c in f.items() if n == COMMAND_FIELD or c.diffs or c.noise_diffs}
        for command, f in found.items()
    }


def encode(found: Snapshot) -> dict[str, dict[str, list[int]]]:
    return {
        command: {name: c.as_list() for name, c in sorted(fields.items())}
        for command, fields in sorted(found.items())
    }


def decode(stored: Mapping[str, object]) -> Snapshot:
    found: Snapshot = {}
    for command, fields in stored.items():
        if isinstance(fields, list):  # whole-answer counters only
            found[command] = {COMMAND_FIELD: Counts.of(fields)}
        elif isinstance(fields, dict):
            found[command] = {str(k): Counts.of(list(v)) for k, v in fields.items()}
    return found
