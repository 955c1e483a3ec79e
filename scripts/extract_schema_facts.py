#!/usr/bin/env python3
"""Extract bare legacy-schema facts from ../shared/legacy-schema into schema_bridge/facts/.

Usage: python scripts/extract_schema_facts.py [--source DIR] [--out DIR] [--check]

Only names, types, defaults, keys and seed values are kept; column comments and description
texts are dropped because they are prose. Output is deterministic (sorted keys, compact
separators, one table per line) so a regeneration shows up as a readable diff.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "legacy-schema"
DEFAULT_OUT = REPO / "schema_bridge" / "facts"
SCHEMA_FILE = "cloudstack-4.20.2.0-schema.json"
SEED_FILE = "cloudstack-4.20.2.0-seed.json"

COLUMN_KEYS = ("name", "type", "nullable", "default", "extra", "key", "charset", "collation")
TABLE_KEYS = ("engine", "collation", "primary_key", "unique", "indexes", "foreign_keys")

# Seed rows of these columns are prose, not data an API server needs.
SEED_DROPPED_COLUMNS: dict[str, frozenset[str]] = {
    "configuration": frozenset({"description"}),
    "configuration_group": frozenset({"description"}),
    "configuration_subgroup": frozenset({"description"}),
}


def _column(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: raw[key] for key in COLUMN_KEYS if key in raw}


def _table(raw: dict[str, Any]) -> dict[str, Any]:
    table = {key: raw[key] for key in TABLE_KEYS}
    table["columns"] = [_column(column) for column in raw["columns"]]
    return table


def _view(raw: dict[str, Any]) -> dict[str, Any]:
    return {"columns": [_column(column) for column in raw["columns"]]}


def schema_facts(raw: dict[str, Any]) -> dict[str, Any]:
    """The `cloud` schema facts: tables, view column lists and the version string."""
    return {
        "version": raw["version"],
        "tables": {name: _table(table) for name, table in raw["tables"].items()},
        "views": {name: _view(view) for name, view in raw["views"].items()},
    }


def seed_facts(raw: dict[str, Any], table_names: set[str]) -> dict[str, Any]:
    """Fresh-install rows of every `cloud` table that has rows in the source."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, content in raw["tables"].items():
        if name not in table_names or "rows" not in content:
            continue
        dropped = SEED_DROPPED_COLUMNS.get(name, frozenset())
        rows = [{k: v for k, v in row.items() if k not in dropped} for row in content["rows"]]
        tables[name] = sorted(rows, key=_row_order)
    return {"version": raw["version"], "tables": tables}


def _row_order(row: dict[str, Any]) -> tuple[int, str]:
    # Insertion order matters for rows that reference each other; ids give that order.
    row_id = row.get("id")
    return (row_id if isinstance(row_id, int) else 0, str(row.get("name", "")))


def render(facts: dict[str, Any]) -> str:
    """JSON with one top-level entry per line and one table per line inside `tables`/`views`."""
    lines = ["{"]
    entries = sorted(facts.items())
    for position, (key, value) in enumerate(entries):
        comma = "," if position < len(entries) - 1 else ""
        if isinstance(value, dict):
            lines.append(f"{json.dumps(key)}:{{")
            items = sorted(value.items())
            for inner_position, (name, content) in enumerate(items):
                inner_comma = "," if inner_position < len(items) - 1 else ""
                lines.append(f"{json.dumps(name)}:{_compact(content)}{inner_comma}")
            lines.append("}" + comma)
        else:
            lines.append(f"{json.dumps(key)}:{_compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build(source: Path) -> dict[str, str]:
    """File name -> rendered content, for every facts file we ship."""
    raw_schema = json.loads((source / SCHEMA_FILE).read_text(encoding="utf-8"))
    raw_seed = json.loads((source / SEED_FILE).read_text(encoding="utf-8"))
    schema = schema_facts(raw_schema)
    seed = seed_facts(raw_seed, set(schema["tables"]))
    return {"legacy_schema.json": render(schema), "legacy_seed.json": render(seed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if shipped facts are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, content in build(args.source).items():
        target = args.out / name
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != content:
                stale.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    if stale:
        print(f"stale facts: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
