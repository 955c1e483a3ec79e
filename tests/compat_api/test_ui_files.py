"""`--ui-dir`: a UI build at /client/ beside the API, without listings or escapes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from compat_api import ui_files
from compat_api.app import create_app
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from tests.compat_api.conftest import db_url_of
from tests.compat_api.test_cli import stackshift
from tests.conftest import TEST_ENCRYPTION_KEY

INDEX = "<!DOCTYPE html><html><body>ui</body></html>"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "ui"
    (root / "js").mkdir(parents=True)
    (root / "css").mkdir()
    (root / "index.html").write_text(INDEX)
    (root / "config.json").write_text('{"apiBase": "/client/api"}')
    (root / "js" / "app.1234.js").write_text("console.log(1)")
    (root / "css" / "app.css").write_text("body{}")
    (root / "logo.svg").write_text("<svg/>")
    (root / "font.woff2").write_bytes(b"wOF2")
    (tmp_path / "secret.txt").write_text("not for browsers")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
async def ui_client(
    build: Path,
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> TestClient[Any, Any]:
    db, _ = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    settings = Settings(
        db_url=url, encryption_key=TEST_ENCRYPTION_KEY, ui_dir=str(build), engine_enabled=False
    )
    return await aiohttp_client(create_app(settings, db=db))


@pytest.mark.parametrize("path", ["/client/", "/client/index.html"])
async def test_index(ui_client: TestClient[Any, Any], path: str) -> None:
    response = await ui_client.get(path)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert await response.text() == INDEX
    assert response.headers["Cache-Control"] == "no-cache"


async def test_bare_prefix_redirects(ui_client: TestClient[Any, Any]) -> None:
    response = await ui_client.get("/client", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/client/"
    response = await ui_client.get("/", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == "/client"
    response = await ui_client.get("/")
    assert response.status == 200 and await response.text() == INDEX


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/client/js/app.1234.js", "application/javascript"),
        ("/client/css/app.css", "text/css"),
        ("/client/config.json", "application/json"),
        ("/client/logo.svg", "image/svg+xml"),
        ("/client/font.woff2", "font/woff2"),
    ],
)
async def test_assets(ui_client: TestClient[Any, Any], path: str, content_type: str) -> None:
    response = await ui_client.get(path)
    assert response.status == 200
    assert response.content_type == content_type


@pytest.mark.parametrize(
    "path",
    [
        "/client/js/",
        "/client/css",
        "/client/missing.js",
        "/client/../secret.txt",
        "/client/%2e%2e/secret.txt",
        "/client/js/%2e%2e/%2e%2e/secret.txt",
        "/client/..%2fsecret.txt",
        "/client/escape",
        "/client/%5c..%5csecret.txt",
    ],
)
async def test_no_listing_no_escape(ui_client: TestClient[Any, Any], path: str) -> None:
    response = await ui_client.get(path)
    assert response.status == 404
    assert "not for browsers" not in await response.text()


async def test_api_still_answers(ui_client: TestClient[Any, Any]) -> None:
    for path in ("/client/api", "/client/api/"):
        response = await ui_client.get(path, params={"command": "listZones", "response": "json"})
        assert response.status == 401
        body = await response.json()
        assert body["listzonesresponse"]["errortext"] == (
            "unable to verify user credentials and/or request signature"
        )


def test_resolve_refuses_outside(build: Path) -> None:
    root = build.resolve()
    assert ui_files.resolve(root, "") == root / "index.html"
    assert ui_files.resolve(root, "js/app.1234.js") == root / "js" / "app.1234.js"
    assert ui_files.resolve(root, "../secret.txt") is None
    assert ui_files.resolve(root, "js/../../secret.txt") is None
    assert ui_files.resolve(root, "/etc/passwd") is None
    assert ui_files.resolve(root, "escape") is None
    assert ui_files.resolve(root, "js\x00.js") is None


def test_check_dir(tmp_path: Path, build: Path) -> None:
    assert ui_files.check_dir(str(build)) == build.resolve()
    with pytest.raises(ValueError, match="does not exist"):
        ui_files.check_dir(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"has no index\.html"):
        ui_files.check_dir(str(build / "js"))


def test_cli_refuses_a_directory_without_index(tmp_path: Path) -> None:
    done = stackshift("serve", "--db", str(tmp_path / "x.db"), "--ui-dir", str(tmp_path))
    assert done.returncode == 2
    assert "has no index.html" in done.stderr


# With a legacy server and no UI directory, /client/ is legacy's own UI, passed through.


class LegacyPages:
    """Stands in for legacy's web server: answers every /client/ page with what it was asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def page(self, request: web.Request) -> web.Response:
        self.seen.append(str(request.rel_url))
        response = web.Response(text=f"legacy {request.rel_url}", content_type="text/html")
        response.headers["X-Legacy"] = "yes"
        return response

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/client/{tail:.*}", self.page)
        app.router.add_get("/client", self.page)
        return app


async def _front(
    db: Database,
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
    legacy_url: str,
    ui_dir: str | None = None,
) -> TestClient[Any, Any]:
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    settings = Settings(
        db_url=url,
        encryption_key=TEST_ENCRYPTION_KEY,
        engine_enabled=False,
        legacy_url=legacy_url,
        legacy_timeout_seconds=5.0,
        ui_dir=ui_dir,
    )
    return await aiohttp_client(create_app(settings, db=db))


async def test_legacy_ui_passes_through(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
    aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]],
) -> None:
    pages = LegacyPages()
    server = await aiohttp_server(pages.app())
    client = await _front(seeded_db[0], aiohttp_client, str(server.make_url("/client/api")))
    for path in ("/client/", "/client/index.html", "/client/js/app.1234.js?v=2", "/client"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 200, path
        assert await response.text() == f"legacy {path}"
        assert response.headers["X-Legacy"] == "yes"
    assert pages.seen == [
        "/client/",
        "/client/index.html",
        "/client/js/app.1234.js?v=2",
        "/client",
    ]


async def test_ui_dir_wins_over_legacy(
    build: Path,
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
    aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]],
) -> None:
    pages = LegacyPages()
    server = await aiohttp_server(pages.app())
    legacy_url = str(server.make_url("/client/api"))
    client = await _front(seeded_db[0], aiohttp_client, legacy_url, str(build))
    response = await client.get("/client/")
    assert await response.text() == INDEX
    assert pages.seen == []


async def test_legacy_ui_down_is_a_502(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await _front(seeded_db[0], aiohttp_client, f"http://127.0.0.1:{port}/client/api")
    response = await client.get("/client/")
    assert response.status == 502
    assert "The legacy web UI could not be reached" in await response.text()
