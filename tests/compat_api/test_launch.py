"""The `stackshift` entry point: operator commands yield CPU to the servers on their host."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compat_api.launch import OPERATOR_NICENESS, niceness_for, subcommand


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve", "--db", "x"], 0),
        (["demo"], 0),
        (["cutover", "vm", "writes", "--reason", "r"], OPERATOR_NICENESS),
        (["route", "show"], OPERATOR_NICENESS),
        (["--help"], OPERATOR_NICENESS),
    ],
)
def test_only_serving_commands_keep_their_priority(argv: list[str], expected: int) -> None:
    assert niceness_for(argv, {}) == expected


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("25", 19), ("-3", 0), ("x", 10)])
def test_the_niceness_can_be_set_or_turned_off(raw: str, expected: int) -> None:
    assert niceness_for(["check"], {"STACKSHIFT_NICE": raw}) == expected


def test_the_subcommand_is_the_first_word_that_is_not_an_option() -> None:
    assert subcommand(["--verbose", "route", "set"]) == "route"
    assert subcommand(["-h"]) is None


@pytest.mark.parametrize(("word", "expected"), [("route", OPERATOR_NICENESS), ("serve", 0)])
def test_the_program_runs_at_that_priority(word: str, expected: int) -> None:
    script = (
        "import os, sys\n"
        f"sys.argv = ['stackshift', {word!r}, '--help']\n"
        "from compat_api import launch\n"
        "try:\n    launch.main()\nexcept SystemExit:\n    pass\n"
        "print('niceness', os.nice(0))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    base = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True, text=True
    ).stdout.strip()
    assert f"niceness {int(base) + expected}" in out
