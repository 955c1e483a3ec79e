"""Shadow counts over a step's window: differences since a baseline, noise subtracted."""

from __future__ import annotations

from migrate.shadow_window import Counts, WindowRate, rate_of, window


def test_window_is_the_difference_since_the_baseline() -> None:
    now = {"listVirtualMachines": Counts(120, 12, 20, 2), "listSSHKeyPairs": Counts(5, 0, 0, 0)}
    base = {"listVirtualMachines": Counts(100, 10, 10, 1)}
    assert window(now, base) == {
        "listVirtualMachines": Counts(20, 2, 10, 1),
        "listSSHKeyPairs": Counts(5, 0, 0, 0),
    }


def test_counters_reset_since_the_baseline_count_whole() -> None:
    assert window({"a": Counts(3, 1, 0, 0)}, {"a": Counts(50, 5, 0, 0)}) == {"a": Counts(3, 1)}


def test_rate_subtracts_the_primarys_own_noise() -> None:
    found = rate_of({"a": Counts(100, 30, 50, 10), "b": Counts(100, 0, 50, 0)})
    assert found.samples == 200 and found.worst == "a"
    assert abs(found.rate - (30 / 200 - 10 / 100)) < 1e-9
    assert rate_of({"a": Counts(10, 0, 10, 5)}) == WindowRate(10, 0.0, None)
    assert rate_of({}) == WindowRate(0, 0.0, None)
