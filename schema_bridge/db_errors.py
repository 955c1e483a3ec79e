"""Which database errors mean "try again" and which mean "outcome unknown".

Measured on Galera: a write-set conflict surfaces as 1213 at any statement or at COMMIT and
the transaction simply failed; a lost connection (2013/2006) may have committed or not.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# 1213 deadlock / certification conflict, 1205 lock wait timeout, 1047 node not ready.
RETRYABLE = frozenset({1213, 1205, 1047})
UNKNOWN_OUTCOME = frozenset({2013, 2006})
# SQLite's "database is locked" after the busy timeout is a retryable conflict too.
_SQLITE_BUSY = "database is locked"


def errno_of(error: BaseException) -> int | None:
    if not isinstance(error, DBAPIError):
        return None
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and _SQLITE_BUSY in str(error.orig):
        return True
    return errno_of(error) in RETRYABLE


def is_unknown_outcome(error: BaseException) -> bool:
    return errno_of(error) in UNKNOWN_OUTCOME
