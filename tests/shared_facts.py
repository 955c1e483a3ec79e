"""Where the suite finds ../shared (the reference facts) for golden comparisons.

The project ships every fact it needs at run time; only the byte-level golden bodies and the
regeneration checks read ../shared directly. Without it those tests skip locally and fail
under CI=true, where ../shared always sits beside the clone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STACKSHIFT_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"reference facts not found at {path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def golden(name: str) -> str:
    return shared_path("cloudstack-api", "examples", "bodies", name).read_text(encoding="utf-8")
