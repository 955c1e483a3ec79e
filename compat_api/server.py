"""Running the API server: one process per worker, all on one port (SO_REUSEPORT)."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from types import FrameType

from aiohttp import web

from compat_api import logs, ops
from compat_api.app import create_app
from compat_api.ops import metrics, one_line_logs
from compat_api.settings import Settings


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Startup leaves ~200,000 long-lived objects (the registry, the API facts, modules);
    left in the collector's oldest generation, each full collection walks all of them,
    a 40-50 ms pause in the middle of some request. Frozen, they are never walked again."""
    gc.collect()
    gc.freeze()


def _serve_one(settings: Settings) -> None:
    logs.configure(settings.debug_log)
    one_line_logs.install()
    app = create_app(settings)
    # After the application's own start-up (cleanup contexts run first).
    app.on_startup.append(_freeze_startup_objects)
    ops.handle_sigterm(app, settings.drain_delay_seconds)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=settings.workers > 1,
        access_log=None,
        print=None,
        handle_signals=True,
        shutdown_timeout=30,
    )


def serve(settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM; with several workers, fork them before any event loop or
    database connection exists so nothing is shared by accident."""
    with metrics.multiprocess_dir():  # /metrics sums every worker's counters
        return _serve_workers(settings)


def _serve_workers(settings: Settings) -> int:
    if settings.workers <= 1:
        _serve_one(settings)
        return 0
    children: list[int] = []
    for _ in range(settings.workers):
        pid = os.fork()
        if pid == 0:
            try:
                _serve_one(settings)
            finally:
                os._exit(0)
        children.append(pid)

    def forward(signum: int, frame: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return status


def announce(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
