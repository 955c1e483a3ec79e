"""docs/coverage.md stays current; parity markers are honest; `stackshift coverage` and
`stackshift diffs` read live routes and shadow counts."""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

from compat_api import cli, coverage
from compat_api.facts import all_commands
from compat_api.routing import ENGINE
from compat_api.signing import signature_matches
from migrate import routes as route_store
from schema_bridge import shadow_diffs
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.shadow_diffs import FieldRow
from tests.compat_api.conftest import db_url_of

ROOT = Path(__file__).resolve().parents[2]


def test_doc_is_current() -> None:
    assert (ROOT / "docs" / "coverage.md").read_text() == coverage.document(), (
        "regenerate: python -m compat_api.coverage > docs/coverage.md"
    )


def test_parity_markers_name_real_commands_the_test_sends() -> None:
    marked = coverage.parity_commands()
    assert {"listZones", "login", "queryAsyncJobResult"} <= set(marked)
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = ast.get_source_segment(source, node) or ""
                for name in coverage.marked_commands(node):
                    assert name in all_commands(), f"{path}::{node.name}: unknown {name}"
                    # The segment starts at `def`: the decorator is not part of it.
                    assert name in body, f"{path}::{node.name} never sends {name}"


def test_capture_forms(tmp_path: Path) -> None:
    api = [{"name": "listZones"}, {"name": "pluginOnlyCommand"}]
    for data in ({"listapisresponse": {"count": 2, "api": api}}, {"api": api}, ["listZones"]):
        names = coverage.capture_names(data)
        assert "listZones" in names
    capture = tmp_path / "listapis.json"
    capture.write_text(json.dumps({"listapisresponse": {"count": 2, "api": api}}))
    text = _coverage_cli(["--listapis", str(capture)], tmp_path / "coverage.md")
    assert "| pluginOnlyCommand | ? | no | legacy | - | - |" in text
    assert "| listZones | infra | yes | legacy | yes | - |" in text
    assert "| **all** | 2 | 1 | 1 | 0 |" in text


def _coverage_cli(args: list[str], out: Path) -> str:
    assert cli.main(["coverage", *args, "--write", str(out)]) == 0
    return out.read_text()


async def test_live_routes_and_rates(
    seeded_db: tuple[Database, SeedResult], tmp_path: Path
) -> None:
    db, _ = seeded_db
    url = db_url_of(db)
    spec = route_store.RouteSpec(
        route_store.Scope("infra", "listZones"), ENGINE, shadow=True, shadow_percent=50
    )
    await route_store.set_route(db, spec, {"listZones"}, "test", "shadow listZones")
    await shadow_diffs.add(
        db,
        [
            FieldRow("listZones", "*", 40, 10, 4, 0),
            FieldRow("listZones", "zone[].name", 40, 10, 4, 0),
            FieldRow("listZones", "zone[].dns1", 40, 0, 4, 0),
        ],
        [],
        keep=5,
    )
    text = await asyncio.to_thread(_coverage_cli, ["--db", url], tmp_path / "coverage.md")
    assert "| listZones | infra | yes | engine+shadow | yes | 25.0% of 40 |" in text
    code = await asyncio.to_thread(cli.main, ["diffs", "--db", url, "--command", "listZones"])
    assert code == 1  # a field counts as different


async def test_capture_fetched_from_a_legacy_server(
    aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]], tmp_path: Path
) -> None:
    secret = "legacy-admin-secret"
    seen: list[list[tuple[str, str]]] = []

    async def list_apis(request: web.Request) -> web.Response:
        pairs = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)
        seen.append(pairs)
        if not signature_matches(pairs, secret, dict(pairs).get("signature", "")):
            return web.json_response({"listapisresponse": {"errorcode": 401}}, status=401)
        api = [{"name": "listZones"}, {"name": "legacyPluginCommand"}]
        return web.json_response({"listapisresponse": {"count": 2, "api": api}})

    app = web.Application()
    app.router.add_get("/client/api", list_apis)
    server = await aiohttp_server(app)
    key_file = tmp_path / "secret"
    key_file.write_text(secret + "\n")
    url = str(server.make_url("/client/api"))
    args = ["--legacy-url", url, "--api-key", "ADMINKEY", "--secret-key-file", str(key_file)]
    text = await asyncio.to_thread(_coverage_cli, args, tmp_path / "coverage.md")
    assert "| legacyPluginCommand | ? | no | legacy | - | - |" in text
    assert "| **all** | 2 | 1 | 1 | 0 |" in text
    assert dict(seen[0])["command"] == "listApis"
    missing_key = ["--legacy-url", url, "--api-key", "ADMINKEY"]
    assert await asyncio.to_thread(cli.main, ["coverage", *missing_key]) == 2
