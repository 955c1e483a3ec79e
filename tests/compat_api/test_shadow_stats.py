"""Diffy-style counting and the thresholds that decide what counts as a difference."""

from __future__ import annotations

import pytest

from compat_api.shadow_stats import (
    CANDIDATE,
    COMMAND_FIELD,
    NOISE,
    Comparison,
    Difference,
    FieldCounts,
    Tally,
    Thresholds,
)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (FieldCounts(samples=100, diffs=0), False),
        (FieldCounts(samples=100, diffs=50), True),
        # Differs as often as the primary differs from itself: noise, not a difference.
        (FieldCounts(samples=100, diffs=50, noise_samples=10, noise_diffs=5), False),
        # Above the noise by 10 points, which is 20% of it: not more than 20%...
        (FieldCounts(samples=100, diffs=60, noise_samples=10, noise_diffs=5), False),
        # ...one more is.
        (FieldCounts(samples=100, diffs=61, noise_samples=10, noise_diffs=5), True),
        (FieldCounts(samples=100, diffs=55, noise_samples=100, noise_diffs=50), False),
        # Under the absolute threshold (one point).
        (FieldCounts(samples=1000, diffs=5), False),
        (FieldCounts(samples=1000, diffs=11), True),
    ],
)
def test_default_thresholds(counts: FieldCounts, expected: bool) -> None:
    assert Thresholds().differs(counts) is expected


def test_thresholds_are_settings() -> None:
    counts = FieldCounts(samples=100, diffs=3)
    assert Thresholds().differs(counts)
    assert not Thresholds(absolute=0.05).differs(counts)
    noisy = FieldCounts(samples=100, diffs=30, noise_samples=100, noise_diffs=20)
    assert Thresholds().differs(noisy)
    assert not Thresholds(relative=0.6).differs(noisy)


def test_tally_counts_fields_the_command_and_keeps_the_last_examples() -> None:
    tally = Tally(examples_kept=2)
    same = Comparison({"vm[].state": None, "vm[].name": None})
    for n in range(3):
        changed = Comparison({"vm[].state": Difference(f"r.vm[{n}].state", "Running", "Stopped")})
        tally.record("listVirtualMachines", changed, CANDIDATE, "legacy")
    tally.record("listVirtualMachines", same, CANDIDATE, "legacy")
    tally.record("listVirtualMachines", same, NOISE, "legacy")
    counts, examples = tally.take()
    state = counts[("listVirtualMachines", "vm[].state")]
    assert (state.samples, state.diffs, state.noise_samples, state.noise_diffs) == (4, 3, 1, 0)
    whole = counts[("listVirtualMachines", COMMAND_FIELD)]
    assert (whole.samples, whole.diffs) == (4, 3)
    assert counts[("listVirtualMachines", "vm[].name")].samples == 1
    state_examples = [e.path for e in examples if e.field == "vm[].state"]
    assert state_examples == ["r.vm[1].state", "r.vm[2].state"]
    assert tally.take() == ({}, [])
    tally.give_back(counts)
    assert tally.counts[("listVirtualMachines", "vm[].state")].diffs == 3
