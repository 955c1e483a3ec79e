#!/usr/bin/env python3
"""Extract bare API facts from ../shared/cloudstack-api into data the project ships.

Writes compat_api/facts/api_commands.json (every command of the 4.22 inventory: params,
async flag, response name and fields; full field typing where responses.json has it) and
tests/facts/listapis_4_18.json (the real 4.18 listApis dump reduced to names, types and
flags) so that a clone works without ../shared. Descriptions are left out on purpose:
they are prose, and the project writes its own.

Usage: python scripts/extract_api_facts.py [--shared PATH] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_COMMANDS = ROOT / "compat_api" / "facts" / "api_commands.json"
OUT_LISTAPIS = ROOT / "tests" / "facts" / "listapis_4_18.json"
PARAM_KEYS = ("name", "type", "required", "length", "since", "entity", "collectionType")
FIELD_KEYS = ("name", "json", "since", "alwaysPresent", "visibleTo", "sensitive")


def _param(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: raw[k] for k in PARAM_KEYS if k in raw}
    if raw.get("authorized"):
        out["authorized"] = raw["authorized"]
    return out


def _field(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: raw[k] for k in FIELD_KEYS if k in raw}
    if "fields" in raw:
        out["fields"] = [_field(f) for f in raw["fields"]]
    return out


def _detail(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "objectName": raw["objectName"],
        "envelope": raw["envelope"],
        "asyncCreate": raw["asyncCreate"],
        "authorizedRoles": raw["authorizedRoles"],
        "eventTypes": raw["eventTypes"],
        "commandClasses": raw["commandClasses"],
        "params": [_param(p) for p in raw["params"]],
        "fields": [_field(f) for f in raw["fields"]],
    }


def build_commands(shared: Path) -> dict[str, Any]:
    api = shared / "cloudstack-api"
    derived = json.loads((api / "listApis-4.22-source-derived.json").read_text())["api"]
    detailed = json.loads((api / "responses.json").read_text())["commands"]
    irregular = json.loads((api / "response-names-irregular.json").read_text())["names"]
    commands: dict[str, Any] = {}
    for entry in derived:
        name = entry["name"]
        cmd: dict[str, Any] = {
            "isasync": entry["isasync"],
            "category": entry["category"],
            "responseName": irregular.get(name, name.lower() + "response"),
            "sourceClass": entry.get("sourceclass"),
            "params": [_param(p) for p in entry["params"]],
            "responseFields": [{"name": f["name"], "type": f["type"]} for f in entry["response"]],
        }
        if name in detailed:
            cmd["detail"] = _detail(detailed[name])
        commands[name] = cmd
    return {
        "source": "CloudStack 4.22 API inventory (names, types, flags only)",
        "commands": dict(sorted(commands.items())),
    }


def build_listapis(shared: Path) -> dict[str, Any]:
    dump = json.loads((shared / "cloudstack-api" / "listApis.json").read_text())["api"]
    out: dict[str, Any] = {}
    for entry in dump:
        out[entry["name"]] = {
            "isasync": entry["isasync"],
            "params": sorted(
                (
                    {"name": p["name"], "type": p["type"], "required": p["required"]}
                    for p in entry.get("params", [])
                ),
                key=lambda p: p["name"],
            ),
            "response": sorted({r["name"] for r in entry.get("response", []) if "name" in r}),
        }
    return {
        "source": "CloudStack 4.18.0 listApis dump (names, types, flags only)",
        "commands": dict(sorted(out.items())),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped files differ")
    args = parser.parse_args(argv)
    outputs = {
        OUT_COMMANDS: render(build_commands(args.shared)),
        OUT_LISTAPIS: render(build_listapis(args.shared)),
    }
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
