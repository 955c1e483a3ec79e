"""One line per request and per error: the access line's fields, an error's id in both the
access line and the error line, and tracebacks of any logger only in the debug log."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from compat_api import logs
from compat_api.app import create_app
from compat_api.commands import build_registry
from compat_api.context import CallContext
from compat_api.ops import one_line_logs
from compat_api.registry import Registry, declare
from compat_api.render import Result
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import Api, db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY


def fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split(" "))


@pytest.fixture
def one_line(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    """The server's logging set-up (main log, debug log) for the test's duration."""
    names = ("stackshift", "stackshift.debug", *one_line_logs.LIBRARY_LOGGERS)
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    debug = tmp_path / "debug.log"
    logs.configure(str(debug))
    main = io.StringIO()
    handler = logging.getLogger("stackshift").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(main)
    one_line_logs.install()
    yield main, debug
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = handlers, propagate


def test_tracebacks_of_any_logger_go_to_the_debug_log(
    one_line: tuple[io.StringIO, Path],
) -> None:
    main, debug_path = one_line
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logging.getLogger("stackshift.engine").exception("job=j1 crashed its worker")
        logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
    logging.getLogger("stackshift.engine").warning("two\nlines")
    lines = main.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "Traceback" not in "\n".join(lines)
    first, second, third = lines
    assert "job=j1 crashed its worker error_id=" in first and first.endswith("exception=ValueError")
    assert " asyncio Task exception was never retrieved error_id=" in second
    assert third.endswith("two\\nlines")
    debug = debug_path.read_text()
    for line in (first, second):
        error_id = line.split("error_id=")[1].split(" ")[0]
        assert f"error_id={error_id}" in debug
    assert debug.count("Traceback (most recent call last)") == 2
    assert "ValueError: boom" in debug


async def explode(ctx: CallContext, args: dict[str, Any]) -> Result:
    raise RuntimeError("disk on fire")


@pytest.fixture
async def failing_api(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> Api:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    broken = declare("listPods", subsystem="infra", handler=explode, summary="Always fails.")
    registry = Registry([*(c for c in build_registry() if c.name != "listPods"), broken])
    settings = Settings(db_url=url, encryption_key=TEST_ENCRYPTION_KEY, auth_cache_seconds=0)
    return Api(await aiohttp_client(create_app(settings, db=db, registry=registry)), seed, db)


async def test_an_error_is_one_line_with_its_id_in_the_access_line(
    failing_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stackshift")
    reply = await failing_api.signed("listPods")
    assert reply.status == 530
    error_id = reply.headers["X-Error-Id"]
    access = [r.getMessage() for r in caplog.records if r.name == "stackshift.access"]
    errors = [r for r in caplog.records if r.name == "stackshift.error"]
    assert len(access) == 1 and len(errors) == 1
    line = fields(access[0])
    assert line["error_id"] == error_id and line["status"] == "530"
    assert line["command"] == "listPods" and line["backend"] == "engine"
    assert line["account"] == "admin" and float(line["ms"]) >= 0
    assert len(line["request_id"]) == 16
    assert errors[0].exc_info is None and "\n" not in errors[0].getMessage()
    assert f"error_id={error_id}" in errors[0].getMessage()
