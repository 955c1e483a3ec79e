"""Graceful drain on SIGTERM.

1. /readyz starts answering 503 at once, so a load balancer's health check takes this
   process out of rotation while it still serves whatever reaches it;
2. after `delay` seconds aiohttp's own graceful exit runs: stop listening, finish the requests
   in flight, then the application's cleanup stops the job runner, which stops claiming,
   lets running jobs finish and hands the rest back for other processes to resume.

A second SIGTERM changes nothing; SIGINT still skips the delay (aiohttp's own handler).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from compat_api import logs

LOG = logging.getLogger("stackshift.ops")


@dataclass
class Drain:
    draining: bool = False
    since: float | None = None
    # The task marking this process draining in the database (kept so it is not collected).
    announcing: asyncio.Task[None] | None = None

    def begin(self) -> bool:
        """Start draining; False when it had already begun."""
        if self.draining:
            return False
        self.draining = True
        self.since = time.monotonic()
        return True

    def elapsed(self) -> float:
        """Seconds since draining began (for the shutdown's log lines)."""
        return round(time.monotonic() - (self.since or time.monotonic()), 2)


def _exit() -> None:
    # Raised from a loop callback, SystemExit's subclass leaves run_app's loop exactly as
    # aiohttp's own SIGTERM handler does, and run_app then shuts down gracefully.
    raise GracefulExit()


def on_sigterm(
    app: web.Application,
    drain: Drain,
    delay_seconds: float,
    announce: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    """Replace aiohttp's immediate exit on SIGTERM with drain-then-exit (only for servers
    started by run_app: embedded and test applications keep their signals untouched)."""

    async def install(app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, terminate)

    def terminate() -> None:
        if not drain.begin():
            return
        LOG.info(logs.line(event="drain", delay_s=delay_seconds))
        loop = asyncio.get_running_loop()
        drain.announcing = loop.create_task(announce())
        loop.call_later(delay_seconds, _exit)

    app.on_startup.append(install)
