"""Which legacy tables stackshift reads or writes: the ones its code holds.

Every module of the serving code (compat_api, engine, schema_bridge, migrate) is imported and
the legacy Tables among its module attributes are collected: that is how the code reaches a
table (`from schema_bridge.tables import vm_instance`, `annotations = table("annotations")`).
The seeding modules, which only build demo clouds, and the table declarations themselves are
left out, so the set is what a production server touches.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Table

from schema_bridge.tables import legacy_metadata

PACKAGES = ("compat_api", "engine", "schema_bridge", "migrate")
# Modules that only seed demo clouds, declare the tables, or are programs rather than
# libraries (importing alembic's env.py runs a migration).
_SKIPPED_PREFIXES = ("schema_bridge.tables", "migrate.alembic")
_SKIPPED_NAMES = ("demo", "cli", "command_docs", "__main__")


def _skipped(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith(_SKIPPED_PREFIXES) or last.startswith("seed") or last in _SKIPPED_NAMES


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, f"{package}.")]
    return [name for name in names if not _skipped(name)]


@dataclass(frozen=True)
class Used:
    tables: tuple[Table, ...]
    # Modules that failed to import: their tables are unknown (a broken install).
    unimportable: tuple[str, ...]


@lru_cache(maxsize=1)
def used_tables() -> Used:
    """The legacy tables the serving code holds, by name."""
    found: dict[str, Table] = {}
    broken = []
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError:
            broken.append(name)
            continue
        for value in vars(module).values():
            if isinstance(value, Table) and value.metadata is legacy_metadata:
                found[value.name] = value
    return Used(tuple(found[name] for name in sorted(found)), tuple(broken))
