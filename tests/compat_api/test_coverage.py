"""docs/coverage.md stays current; parity markers are honest; `stackshift coverage` and
`stackshift diffs` read live routes and shadow counts."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

from compat_api import cli, coverage
from compat_api.facts import all_commands
from compat_api.routing import ENGINE
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
