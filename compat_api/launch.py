"""The `stackshift` program's entry point.

Operator commands (route, cutover, rollback, check, db, ...) usually run on a host that
also serves the API. Importing the command line costs about a second of CPU, and a step
then reads and writes a little; on a busy host that second is taken from the servers, in
the middle of a switch. So every command except `serve` and `demo` lowers its own CPU
priority (nice 10) before importing anything heavy. STACKSHIFT_NICE=0 keeps the normal one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

SERVING = frozenset({"serve", "demo"})
OPERATOR_NICENESS = 10


def subcommand(argv: Sequence[str]) -> str | None:
    """The first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def niceness_for(argv: Sequence[str], environ: dict[str, str] | os._Environ[str]) -> int:
    if subcommand(argv) in SERVING:
        return 0
    raw = environ.get("STACKSHIFT_NICE", str(OPERATOR_NICENESS))
    try:
        return max(0, min(19, int(raw)))
    except ValueError:
        return OPERATOR_NICENESS


def main() -> int:
    increment = niceness_for(sys.argv[1:], os.environ)
    if increment:
        with contextlib.suppress(OSError):  # a sandbox may forbid it: run as we are
            os.nice(increment)
    from compat_api.cli import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
