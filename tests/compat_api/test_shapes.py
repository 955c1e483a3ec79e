"""Response shapes: facts order, nulls dropped, unknown names refused under the test suite."""

from __future__ import annotations

import pytest

from compat_api import shapes


def test_the_suite_runs_with_strict_shapes() -> None:
    assert shapes.STRICT, "tests/conftest.py must set STACKSHIFT_STRICT_SHAPES before imports"


def test_build_orders_by_facts_and_drops_nulls() -> None:
    zone = shapes.of("listZones")
    built = zone.build({"name": "z", "id": "1", "description": None, "tags": []})
    assert list(built) == ["id", "name", "tags"]


def test_unknown_field_names_are_refused() -> None:
    with pytest.raises(KeyError, match="nmae"):
        shapes.of("listZones").build({"nmae": "z"})
