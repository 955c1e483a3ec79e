"""Every line of the main log is one line: a record carrying a traceback (the engine's
LOG.exception, aiohttp's "Error handling request", asyncio's unretrieved task exceptions)
is written as its message plus an error id, and the traceback goes to the debug log under
that id, as compat_api.logs does for the API's own errors.
"""

from __future__ import annotations

import logging

from compat_api import logs

# Libraries whose warnings and errors belong in the main log, in the same one-line form.
LIBRARY_LOGGERS = ("aiohttp", "asyncio")


class OneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info or record.exc_text or record.stack_info:
            error_id = logs.new_id()
            stack = f"\n{record.stack_info}" if record.stack_info else ""
            logs.DEBUG.error(
                "error_id=%s %s%s", error_id, message, stack, exc_info=record.exc_info or None
            )
            exception = record.exc_info[1] if record.exc_info else None
            named = f" exception={type(exception).__name__}" if exception else ""
            message = f"{message} error_id={error_id}{named}"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.msg, record.args = message.replace("\n", "\\n"), None
        return True


def install() -> None:
    """Apply to the handlers compat_api.logs.configure set up, and route the libraries'
    loggers through them (otherwise Python's last-resort handler prints raw tracebacks)."""
    main = logging.getLogger("stackshift")
    for handler in main.handlers:
        if not any(isinstance(f, OneLine) for f in handler.filters):
            handler.addFilter(OneLine())
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers = list(main.handlers)
        library.setLevel(logging.WARNING)
        library.propagate = False
