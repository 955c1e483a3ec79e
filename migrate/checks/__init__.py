"""Preflight checks of a CloudStack database and its surroundings (`stackshift check`).

Each module owns one check: an async `run(target)` returning its findings. The runner is
migrate/check.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schema_bridge.db import Database

Status = Literal["PASS", "WARN", "FAIL"]


@dataclass(frozen=True)
class Finding:
    status: Status
    name: str
    found: str
    # For a FAIL (and a WARN worth acting on): what the operator should do.
    todo: str = ""

    def line(self) -> str:
        text = f"{self.status} {self.name}: {self.found}"
        return f"{text}. To do: {self.todo}" if self.todo else text


@dataclass(frozen=True)
class Target:
    """What is checked: the database, and the legacy API when one was given."""

    db: Database
    url: str
    legacy_url: str | None = None
    api_key: str | None = None
    secret_key: str | None = None
    encryption_key: str | None = None
    dead_after_seconds: float = 15.0
