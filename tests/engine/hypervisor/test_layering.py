"""engine.hypervisor never touches the database or the API layer (architecture: layering)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import engine.hypervisor

FORBIDDEN = {
    "schema_bridge",
    "sqlalchemy",
    "compat_api",
    "aiomysql",
    "asyncmy",
    "aiosqlite",
    "pymysql",
}
PACKAGE = Path(engine.hypervisor.__file__).parent


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_forbidden_imports_in_the_source() -> None:
    # Walks every import statement, including ones inside functions.
    offenders = {
        path.name: sorted(_imported_roots(path) & FORBIDDEN)
        for path in sorted(PACKAGE.glob("*.py"))
        if _imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_importing_every_module_loads_no_forbidden_package() -> None:
    modules = sorted(f"engine.hypervisor.{p.stem}" for p in PACKAGE.glob("*.py"))
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = set(ast.literal_eval(done.stdout.strip()))
    assert loaded & FORBIDDEN == set()
