"""Upgrading stackshift's own tables without downtime: what is pending, what may run now.

Expand revisions always may: the release still running beside them keeps working. A contract
revision may only run when no live instance's code predates it; until then it is refused
with the instances that hold it back. `stackshift serve` applies the expand revisions at start
and refuses to start while a contract stands between the database and its code;
`stackshift db upgrade` applies everything that may run and says why the rest may not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import OperationalError

from migrate import fleet, revisions, schema
from migrate.revisions import Revision


@dataclass(frozen=True)
class Plan:
    current: str | None
    pending: list[Revision]
    # True when the database is at a revision this release does not know: a newer one ran.
    ahead: bool = False
    # The first pending contract that may not run yet, and the live instances holding it.
    blocked: Revision | None = None
    holders: list[fleet.Instance] = field(default_factory=list)

    @property
    def runnable(self) -> list[Revision]:
        """The pending revisions that may run now, in order."""
        if self.blocked is None:
            return self.pending
        return self.pending[: self.pending.index(self.blocked)]


# Held (MariaDB GET_LOCK) while a plan is made and applied, so instances starting together
# do not run the same revision twice. Lock names are server-wide and at most 64 characters:
# the name carries a digest of the database's name.
LOCK_NAME = "CONCAT('stackshift_schema:', MD5(DATABASE()))"
LOCK_WAIT_SECONDS = 120
# MariaDB's "Lock wait timeout exceeded", and how often a revision is tried before giving up.
LOCK_WAIT_TIMEOUT = 1205
DDL_TRIES = 10


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """One upgrader at a time on MariaDB; SQLite serialises DDL by itself."""
    engine = create_engine(schema.sync_url(url), poolclass=pool.NullPool)
    try:
        if engine.dialect.name == "sqlite":
            yield
            return
        with engine.connect() as conn:
            got = conn.scalar(
                text(f"SELECT GET_LOCK({LOCK_NAME}, :wait)"), {"wait": LOCK_WAIT_SECONDS}
            )
            if got != 1:
                raise TimeoutError(
                    f"another stackshift kept upgrading this database for {LOCK_WAIT_SECONDS} s"
                )
            try:
                yield
            finally:
                conn.execute(text(f"SELECT RELEASE_LOCK({LOCK_NAME})"))
    finally:
        engine.dispose()


def plan(url: str, dead_after_seconds: float) -> Plan:
    engine = create_engine(schema.sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": schema.VERSION_TABLE})
            current = context.get_current_revision()
            live = [i for i in fleet.read(conn, dead_after_seconds) if i.alive]
    finally:
        engine.dispose()
    if revisions.position(current) is None:
        return Plan(current, [], ahead=True)
    pending = revisions.after(current)
    for revision in pending:
        if revision.phase == "contract":
            holders = [i for i in live if i.predates(revision.id)]
            if holders:
                return Plan(current, pending, blocked=revision, holders=holders)
    return Plan(current, pending)


class TableBusy(Exception):  # noqa: N818 - reads as what happened
    """A revision kept waiting for a table in use; the text is one line for the operator."""


def _lock_timeout(error: OperationalError) -> bool:
    args: tuple[object, ...] = tuple(getattr(error.orig, "args", ()))
    return bool(args) and args[0] == LOCK_WAIT_TIMEOUT


def _apply_one(url: str, revision: Revision) -> None:
    """One revision, tried again while a table it alters is held by a long transaction. Each
    try waits at most schema.DDL_LOCK_WAIT_SECONDS, so live requests are held up no longer;
    on MariaDB a failed statement left nothing behind when it is the revision's first DDL on
    a live table (see revisions.py)."""
    for attempt in range(DDL_TRIES):
        try:
            schema.upgrade(url, revision.id)
            return
        except OperationalError as error:
            if not _lock_timeout(error):
                raise
            time.sleep(min(0.5 * (attempt + 1), 3.0))
    raise TableBusy(
        f"revision {revision.id} waited {DDL_TRIES} times {schema.DDL_LOCK_WAIT_SECONDS} s for a "
        "table another transaction keeps open (look for it in SHOW PROCESSLIST); nothing "
        "after it was applied, run `stackshift db upgrade` again"
    )


def apply(url: str, upto: list[Revision]) -> None:
    """Apply the given leading part of a plan's pending revisions, one at a time."""
    for revision in upto:
        _apply_one(url, revision)


def describe(revision: Revision) -> str:
    return f"{revision.id} ({revision.phase}): {revision.description}"


def refusal(found: Plan) -> str:
    """Why the blocked contract may not run, in one line."""
    assert found.blocked is not None
    who = ", ".join(
        f"{i.msid} on {i.hostname} pid {i.pid} (version {i.version}, schema "
        f"{i.schema_revision or 'unrecorded'})"
        for i in found.holders
    )
    return (
        f"contract revision {found.blocked.id} refused: instances of an older release are "
        f"alive: {who}; upgrade or stop them first (an instance counts as dead once its "
        "heartbeat is older than --dead-after)"
    )


def on_start(url: str, dead_after_seconds: float) -> tuple[str | None, str | None]:
    """What `serve` does before serving: apply the expand revisions up to the first contract.

    Returns (problem, note): a problem stops the server (a contract stands between the
    database and this release's code); a note is worth telling the operator."""
    with schema_lock(url):
        return _start(url, dead_after_seconds)


def _start(url: str, dead_after_seconds: float) -> tuple[str | None, str | None]:
    found = plan(url, dead_after_seconds)
    if found.ahead:
        return None, (
            f"the database's own schema is at {found.current}, newer than this release "
            f"knows ({revisions.head()}); serving without upgrading it"
        )
    expands = []
    for revision in found.pending:
        if revision.phase == "contract":
            break
        expands.append(revision)
    try:
        apply(url, expands)
    except TableBusy as error:
        return str(error), None
    rest = found.pending[len(expands) :]
    if rest:
        return (
            f"contract revision {rest[0].id} must be applied before this release can serve: "
            "run `stackshift db upgrade` once no older release is running",
            None,
        )
    return None, None
