"""Diffy-style counting: per (command, field), how often the candidate backend disagrees with
the primary, and how often the primary disagrees with itself (noise).

A field counts as different only when its candidate difference rate exceeds its noise rate
by both a relative and an absolute margin, so fields that change between any two calls
(counters, clocks nobody listed as volatile) are not reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from compat_api.shadow_normalise import Flat
from schema_bridge.shadow_diffs import ExampleRow

# The whole answer, counted beside its fields: samples per command, answers with any change.
COMMAND_FIELD = "*"
Kind = Literal["candidate", "noise"]
CANDIDATE: Kind = "candidate"
NOISE: Kind = "noise"
EXAMPLE_CHARS = 500


@dataclass
class FieldCounts:
    samples: int = 0
    diffs: int = 0
    noise_samples: int = 0
    noise_diffs: int = 0

    def add(self, other: FieldCounts) -> None:
        self.samples += other.samples
        self.diffs += other.diffs
        self.noise_samples += other.noise_samples
        self.noise_diffs += other.noise_diffs

    @property
    def rate(self) -> float:
        """Share of samples where the candidate differed from the primary."""
        return self.diffs / self.samples if self.samples else 0.0

    @property
    def noise_rate(self) -> float:
        """Share of double samples where the primary differed from itself."""
        return self.noise_diffs / self.noise_samples if self.noise_samples else 0.0


@dataclass(frozen=True)
class Thresholds:
    # The candidate rate must exceed the noise rate by this share of it...
    relative: float = 0.2
    # ...and by this many (as a fraction: 0.01 is one percentage point).
    absolute: float = 0.01

    def differs(self, counts: FieldCounts) -> bool:
        raw, noise = counts.rate, counts.noise_rate
        return (
            counts.diffs > 0 and raw - noise > self.absolute and raw > noise * (1 + self.relative)
        )


@dataclass(frozen=True)
class Difference:
    path: str
    primary: str | None
    other: str | None


@dataclass(frozen=True)
class Comparison:
    """Per generic field: whether any of its values differed, and the first that did."""

    fields: dict[str, Difference | None]

    @property
    def differs(self) -> bool:
        return any(d is not None for d in self.fields.values())


def compare(primary: Flat, other: Flat) -> Comparison:
    fields: dict[str, Difference | None] = {}
    for path in sorted(primary.keys() | other.keys()):
        mine, theirs = primary.get(path), other.get(path)
        generic = (mine or theirs).generic  # type: ignore[union-attr]  # one side has it
        a = mine.value if mine else None
        b = theirs.value if theirs else None
        if a != b and fields.get(generic) is None:
            fields[generic] = Difference(path, a, b)
        else:
            fields.setdefault(generic, None)
    return Comparison(fields)


def _clip(value: str | None) -> str | None:
    return value if value is None or len(value) <= EXAMPLE_CHARS else value[:EXAMPLE_CHARS] + "…"


class Tally:
    """Counts and examples gathered since the last flush; the store adds them up."""

    def __init__(self, examples_kept: int) -> None:
        self.examples_kept = examples_kept
        self.counts: dict[tuple[str, str], FieldCounts] = {}
        self.examples: dict[tuple[str, str], deque[ExampleRow]] = {}

    def record(self, command: str, comparison: Comparison, kind: Kind, backend: str) -> None:
        fields = {COMMAND_FIELD: _overall(comparison), **comparison.fields}
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        for name, difference in fields.items():
            counts = self.counts.setdefault((command, name), FieldCounts())
            different = difference is not None
            if kind == CANDIDATE:
                counts.samples += 1
                counts.diffs += different
            else:
                counts.noise_samples += 1
                counts.noise_diffs += different
            if difference is not None and self.examples_kept > 0:
                kept = self.examples.setdefault((command, name), deque(maxlen=self.examples_kept))
                kept.append(
                    ExampleRow(
                        command,
                        name,
                        kind,
                        difference.path,
                        _clip(difference.primary),
                        _clip(difference.other),
                        backend,
                        now,
                    )
                )

    def take(self) -> tuple[dict[tuple[str, str], FieldCounts], list[ExampleRow]]:
        """Everything gathered so far, leaving the tally empty."""
        counts, self.counts = self.counts, {}
        examples = [e for kept in self.examples.values() for e in kept]
        self.examples = {}
        return counts, examples

    def give_back(self, counts: dict[tuple[str, str], FieldCounts]) -> None:
        """Counts a failed flush could not store, kept for the next one."""
        for key, value in counts.items():
            self.counts.setdefault(key, FieldCounts()).add(value)


def _overall(comparison: Comparison) -> Difference | None:
    for difference in comparison.fields.values():
        if difference is not None:
            return difference
    return None
