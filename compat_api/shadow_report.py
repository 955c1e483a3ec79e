"""What shadow comparison found so far, read from our tables: per-field rates and verdicts
(`stackshift diffs`), and difference rates of a command or a subsystem's read commands for
other tools (coverage, cutover preflight).
"""

from __future__ import annotations

from dataclasses import dataclass

from compat_api.routing import is_read_only, subsystem_for
from compat_api.shadow_stats import COMMAND_FIELD, FieldCounts, Thresholds
from schema_bridge import shadow_diffs
from schema_bridge.db import Database
from schema_bridge.shadow_diffs import ExampleRow


@dataclass(frozen=True)
class FieldReport:
    command: str
    field: str
    samples: int
    diffs: int
    noise_samples: int
    noise_diffs: int
    rate: float
    noise_rate: float
    different: bool
    example: ExampleRow | None


@dataclass(frozen=True)
class CommandRate:
    """`rate` is the highest candidate difference rate among the fields that count as
    different (0.0 when none does); `differing` names those fields."""

    command: str
    samples: int
    rate: float
    differing: tuple[str, ...]


async def field_report(
    db: Database, command: str | None = None, thresholds: Thresholds | None = None
) -> list[FieldReport]:
    """Every counted (command, field), `*` (the whole answer) first within a command."""
    thresholds = thresholds or Thresholds()
    rows = await shadow_diffs.fields(db, command)
    newest: dict[tuple[str, str], ExampleRow] = {}
    for example in await shadow_diffs.examples(db, command):
        # Candidate examples first: they show the difference, noise ones the background.
        key = (example.command, example.field)
        if key not in newest or (newest[key].kind != "candidate" and example.kind == "candidate"):
            newest[key] = example
    found = []
    for row in rows:
        counts = FieldCounts(row.samples, row.diffs, row.noise_samples, row.noise_diffs)
        found.append(
            FieldReport(
                row.command,
                row.field,
                row.samples,
                row.diffs,
                row.noise_samples,
                row.noise_diffs,
                counts.rate,
                counts.noise_rate,
                thresholds.differs(counts) and row.field != COMMAND_FIELD,
                newest.get((row.command, row.field)),
            )
        )
    found.sort(key=lambda r: (r.command, r.field != COMMAND_FIELD, r.field))
    return found


def _rates(report: list[FieldReport]) -> dict[str, CommandRate]:
    rates: dict[str, CommandRate] = {}
    for row in report:
        if row.field == COMMAND_FIELD:
            rates[row.command] = CommandRate(row.command, row.samples, 0.0, ())
    for row in report:
        known = rates.get(row.command)
        if row.different and known is not None:
            rates[row.command] = CommandRate(
                row.command,
                known.samples,
                max(known.rate, row.rate),
                (*known.differing, row.field),
            )
    return rates


async def command_rates(
    db: Database, thresholds: Thresholds | None = None
) -> dict[str, CommandRate]:
    """Every compared command's rate, whatever its number of samples."""
    return _rates(await field_report(db, None, thresholds))


async def command_rate(
    db: Database, command: str, min_samples: int, thresholds: Thresholds | None = None
) -> CommandRate | None:
    """The command's difference rate, or None with fewer than `min_samples` compared."""
    rate = _rates(await field_report(db, command, thresholds)).get(command)
    return rate if rate is not None and rate.samples >= min_samples else None


async def subsystem_rate(
    db: Database, subsystem: str, min_samples: int, thresholds: Thresholds | None = None
) -> CommandRate | None:
    """Over the subsystem's read-only commands together: samples added up, the highest
    command rate, every differing field (as `command:field`). None below `min_samples`."""
    rates = [
        rate
        for name, rate in (await command_rates(db, thresholds)).items()
        if subsystem_for(name) == subsystem and is_read_only(name)
    ]
    samples = sum(r.samples for r in rates)
    if not rates or samples < min_samples:
        return None
    differing = tuple(f"{r.command}:{field}" for r in rates for field in r.differing)
    return CommandRate(subsystem, samples, max(r.rate for r in rates), differing)
