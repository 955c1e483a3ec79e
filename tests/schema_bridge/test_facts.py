"""The shipped facts: complete, prose-free, and equal to what the extractor regenerates."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from schema_bridge.facts import FACTS_DIR, load_schema_facts, load_seed_facts
from tests.shared_facts import shared_path

REPO = Path(__file__).resolve().parents[2]


def _extractor() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extract_schema_facts", REPO / "scripts" / "extract_schema_facts.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_facts_cover_every_cloud_table() -> None:
    facts = load_schema_facts()
    assert facts["version"] == "4.20.2.0"
    assert len(facts["tables"]) == 305
    assert sum(len(table["columns"]) for table in facts["tables"].values()) == 2773
    assert sum(len(table["foreign_keys"]) for table in facts["tables"].values()) == 415


def test_schema_facts_carry_no_comments() -> None:
    for table in load_schema_facts()["tables"].values():
        assert "comment" not in table
        for column in table["columns"]:
            assert "comment" not in column


def test_seed_facts_drop_descriptions_of_settings() -> None:
    tables = load_seed_facts()["tables"]
    for name in ("configuration", "configuration_group", "configuration_subgroup"):
        assert all("description" not in row for row in tables[name])
    assert {row["name"] for row in tables["sequence"]} >= {"vm_instance_seq", "networks_seq"}
    assert tables["version"][-1]["version"] == "4.20.2.0"


def test_seed_facts_only_name_cloud_tables() -> None:
    assert set(load_seed_facts()["tables"]) <= set(load_schema_facts()["tables"])


def test_shipped_facts_equal_a_regeneration() -> None:
    # Skips without ../shared locally, fails under CI=true (see tests/shared_facts.py).
    built = _extractor().build(shared_path("legacy-schema"))
    for name, content in built.items():
        assert (FACTS_DIR / name).read_text(encoding="utf-8") == content, (
            f"{name} is stale: run scripts/extract_schema_facts.py"
        )
