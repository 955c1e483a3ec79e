"""The registered stackshift processes as an operator and an upgrade see them.

Read with a plain synchronous connection (Alembic is synchronous too) and by reflection, so a
database whose instances table predates this release, or that has none yet, still answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, MetaData, Table, inspect, select

from migrate import revisions
from schema_bridge.dialect import utc_now
from schema_bridge.own_tables import instances as instances_table


@dataclass(frozen=True)
class Instance:
    msid: int
    version: str
    hostname: str
    pid: int
    started: datetime
    heartbeat_age_seconds: float
    draining: bool
    schema_revision: str | None
    alive: bool

    @property
    def state(self) -> str:
        if not self.alive:
            return "dead"
        return "draining" if self.draining else "alive"

    def predates(self, revision: str) -> bool:
        """Whether this process's code was written before `revision` existed. A process that
        recorded no revision predates every one; one this release cannot place is newer."""
        mine = revisions.position(self.schema_revision) if self.schema_revision else -1
        theirs = revisions.position(revision)
        return mine is not None and theirs is not None and mine < theirs


def read(conn: Connection, dead_after_seconds: float) -> list[Instance]:
    """Every registered process, oldest first; alive when its heartbeat is recent enough."""
    if not inspect(conn).has_table(instances_table.name):
        return []
    table = Table(instances_table.name, MetaData(), autoload_with=conn)
    now = utc_now()
    found = []
    for row in conn.execute(select(table).order_by(table.c.started)).mappings():
        age = max((now - row["heartbeat"]).total_seconds(), 0.0)
        found.append(
            Instance(
                msid=int(row["msid"]),
                version=str(row["version"]),
                hostname=str(row["hostname"]),
                pid=int(row["pid"]),
                started=row["started"],
                heartbeat_age_seconds=round(age, 1),
                draining=bool(row["draining"]),
                schema_revision=row.get("schema_revision"),
                alive=age <= dead_after_seconds,
            )
        )
    return found


def render(found: list[Instance]) -> list[str]:
    """One line per process, in columns."""
    header = ["id", "version", "schema", "host", "pid", "started (UTC)", "heartbeat"]
    header += ["draining", "state"]
    rows = [
        [
            str(i.msid),
            i.version,
            i.schema_revision or "-",
            i.hostname,
            str(i.pid),
            i.started.strftime("%Y-%m-%d %H:%M:%S"),
            f"{i.heartbeat_age_seconds:.1f} s ago",
            "yes" if i.draining else "no",
            i.state,
        ]
        for i in found
    ]
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
