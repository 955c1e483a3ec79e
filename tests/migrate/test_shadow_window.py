"""Shadow counts over a step's window: differences since a baseline, judged by the mirror's
own Diffy rule (a field differing no more than the primary differs from itself is noise)."""

from __future__ import annotations

from migrate.shadow_window import Counts, WindowRate, compact, decode, encode, rate_of, window

VMS = "listVirtualMachines"


def test_window_is_the_difference_since_the_baseline() -> None:
    now = {VMS: {"*": Counts(120, 12, 20, 2)}, "listSSHKeyPairs": {"*": Counts(5, 0, 0, 0)}}
    base = {VMS: {"*": Counts(100, 10, 10, 1)}}
    assert window(now, base) == {
        VMS: {"*": Counts(20, 2, 10, 1)},
        "listSSHKeyPairs": {"*": Counts(5, 0, 0, 0)},
    }


def test_counters_reset_since_the_baseline_count_whole() -> None:
    assert window({"a": {"*": Counts(3, 1)}}, {"a": {"*": Counts(50, 5)}}) == {
        "a": {"*": Counts(3, 1)}
    }


def test_noise_fields_do_not_count_and_the_worst_field_does() -> None:
    found = rate_of(
        {
            VMS: {
                "*": Counts(100, 60, 10, 9),
                "virtualmachine[].state": Counts(100, 60, 10, 9),  # churn: noise
                "virtualmachine[].hostid": Counts(50, 10, 5, 0),  # 20%: different
            },
            "listSSHKeyPairs": {"*": Counts(40), "sshkeypair[].name": Counts(40, 2, 4, 0)},
        }
    )
    assert found == WindowRate(140, 0.2, f"{VMS}:virtualmachine[].hostid")
    assert rate_of({VMS: {"*": Counts(10, 3, 0, 0)}}) == WindowRate(10, 0.0, None)
    assert rate_of({}) == WindowRate(0, 0.0, None)


def test_stored_form_round_trips_and_compacts() -> None:
    found = {VMS: {"*": Counts(9, 1), "a": Counts(9, 0, 1, 0), "b": Counts(9, 1)}}
    assert decode(encode(found)) == found
    assert compact(found) == {VMS: {"*": Counts(9, 1), "b": Counts(9, 1)}}
    assert decode({VMS: [9, 1, 0, 0]}) == {VMS: {"*": Counts(9, 1)}}
