"""One-line logs: an access line per request, one readable line per error.

Tracebacks never reach clients and never clutter the main log: they go to a separate debug
logger, keyed by the same error id the one-line error carries.
"""

from __future__ import annotations

import logging
import secrets
import sys

ACCESS = logging.getLogger("stackshift.access")
ERRORS = logging.getLogger("stackshift.error")
DEBUG = logging.getLogger("stackshift.debug")


def new_id() -> str:
    return secrets.token_hex(8)


def _value(value: object) -> str:
    text = "-" if value is None else str(value)
    if text == "" or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def line(**fields: object) -> str:
    return " ".join(f"{k}={_value(v)}" for k, v in fields.items())


def access(**fields: object) -> None:
    ACCESS.info(line(**fields))


def error(error_id: str, summary: str, exc: BaseException) -> None:
    """The one line a sysadmin reads, plus the traceback in the debug log."""
    ERRORS.error(line(error_id=error_id, error=summary, exception=type(exc).__name__))
    DEBUG.error("error_id=%s", error_id, exc_info=exc)


def configure(debug_path: str | None, level: int = logging.INFO) -> None:
    """Main log to stderr; tracebacks only to `debug_path` (or dropped when unset)."""
    root = logging.getLogger("stackshift")
    root.setLevel(level)
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    DEBUG.propagate = False
    DEBUG.handlers.clear()
    if debug_path:
        debug_handler = logging.FileHandler(debug_path)
        debug_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        DEBUG.addHandler(debug_handler)
    else:
        DEBUG.addHandler(logging.NullHandler())
