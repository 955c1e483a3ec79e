"""One libvirt connection per host URI, opened on first use and reopened when it drops.

Every method blocks, so only the driver's worker threads call them, never the event loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

T = TypeVar("T")
Opener = Callable[[str], Any]

log = logging.getLogger(__name__)


def _ignore_libvirt_error(_context: object, _error: object) -> None:
    """Libvirt prints every error to stderr by default; we report them ourselves, once."""


libvirt.registerErrorHandler(_ignore_libvirt_error, None)


class LibvirtUnreachableError(Exception):
    """Opening the connection failed: the host's libvirtd is down, unreachable or refusing."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = uri
        self.reason = reason
        super().__init__(f"{uri}: {reason}")


class LibvirtConnection:
    """A thread-safe holder of one `virConnect`, shared by all operations on one host."""

    def __init__(self, uri: str, opener: Opener | None = None) -> None:
        self.uri = uri
        self._opener: Opener = opener if opener is not None else libvirt.open
        self._lock = threading.Lock()
        self._conn: Any = None

    def run(self, work: Callable[[Any], T]) -> T:
        """`work(conn)` in the calling thread, retried once on a fresh connection if it drops.

        Retrying is safe because every operation is idempotent: if the first attempt did its
        work before the connection broke, the second reports a no-op.
        """
        conn = self._current()
        try:
            return work(conn)
        except libvirt.libvirtError:
            if _alive(conn):
                raise
            log.warning("libvirt connection to %s dropped; reconnecting once", self.uri)
            self._forget(conn)
        return work(self._current())

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            _close_quietly(conn)

    def _current(self) -> Any:
        with self._lock:
            if self._conn is not None and _alive(self._conn):
                return self._conn
            if self._conn is not None:
                _close_quietly(self._conn)
                self._conn = None
            try:
                self._conn = self._opener(self.uri)
            except libvirt.libvirtError as error:
                raise LibvirtUnreachableError(self.uri, error_message(error)) from error
            return self._conn

    def _forget(self, conn: Any) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None
        _close_quietly(conn)


def _alive(conn: Any) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False  # a closed or broken connection pointer is as good as dead


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except libvirt.libvirtError:
        log.debug("closing a dead libvirt connection failed", exc_info=True)


def error_message(error: libvirt.libvirtError) -> str:
    """The text libvirt gave for `error`, without the Python wrapper's prefix."""
    return str(error.get_error_message() or error)
