"""`--ui-dir`: a UI build at /client/ beside the API, without listings or escapes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

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
