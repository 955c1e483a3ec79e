"""Our Alembic revisions in order, each an expand or a contract step.

A revision's docstring starts with its phase, `expand:` or `contract:`. An expand step only
adds (tables, nullable or defaulted columns, indexes), so the previous release keeps working
beside it; a contract step removes or tightens what an older release may still use, so it
waits until no instance of such a release is alive. A revision that names no phase counts as
a contract: the cautious reading.

On MariaDB every DDL statement commits by itself and waits at most a couple of seconds for a
table in use before the revision is tried again (migrate/upgrade.py): a revision that alters
a table live instances use does so in its first statement, so a retry starts clean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from alembic.config import Config
from alembic.script import ScriptDirectory

Phase = Literal["expand", "contract"]
PHASES: tuple[Phase, ...] = ("expand", "contract")

# Extra revision directories beside migrate/alembic/versions. Empty in production; tests that
# play a later release put one directory here before anything reads the revisions.
EXTRA_LOCATIONS: list[str] = []


@dataclass(frozen=True)
class Revision:
    id: str
    phase: Phase
    description: str


def script_location() -> str:
    return str(resources.files("migrate") / "alembic")


def alembic_config() -> Config:
    """The Alembic config without a database URL (schema.py adds one)."""
    config = Config()
    config.set_main_option("script_location", script_location())
    if EXTRA_LOCATIONS:
        versions = str(resources.files("migrate") / "alembic" / "versions")
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join([versions, *EXTRA_LOCATIONS]))
    return config


def phase_of(doc: str) -> tuple[Phase, str]:
    """('expand', 'browser sessions table') from 'expand: browser sessions table'."""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    head, sep, rest = first.partition(":")
    if sep and head.strip() in PHASES:
        phase: Phase = "expand" if head.strip() == "expand" else "contract"
        return phase, rest.strip()
    return "contract", first


@lru_cache(maxsize=1)
def _chain(locations: tuple[str, ...]) -> tuple[Revision, ...]:
    script = ScriptDirectory.from_config(alembic_config())
    chain = []
    for found in script.walk_revisions("base", "heads"):
        phase, description = phase_of(found.module.__doc__ or "")
        chain.append(Revision(found.revision, phase, description))
    chain.reverse()
    return tuple(chain)


def chain() -> tuple[Revision, ...]:
    """Every revision this release knows, oldest first."""
    return _chain(tuple(EXTRA_LOCATIONS))


def head() -> str:
    """The newest revision this release knows: the schema its code is written for."""
    return chain()[-1].id


def position(revision: str | None) -> int | None:
    """Where `revision` stands in the chain (-1 for none applied); None when unknown here,
    which means a newer release wrote it."""
    if revision is None:
        return -1
    ids = [r.id for r in chain()]
    return ids.index(revision) if revision in ids else None


def after(revision: str | None) -> list[Revision]:
    """The revisions still to apply to a database at `revision` (empty if it is ahead)."""
    at = position(revision)
    return [] if at is None else list(chain()[at + 1 :])
