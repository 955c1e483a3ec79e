"""A few MariaDB clones of the seeded template, handed to tests and reset between them.

Creating 305 InnoDB tables costs seconds (mostly waiting on the disk), far more than most
tests. So a background thread creates a handful of clones once and, after each test, puts
back only the tables the test wrote to (InnoDB's information_schema.TABLES.UPDATE_TIME tells
which): rows restored from the template by primary key, our own tables emptied.
"""

from __future__ import annotations

import queue
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pymysql
from sqlalchemy import make_url

# Tables this large are restored by difference instead of wholesale.
_WHOLESALE_ROWS = 5000
_KEEP = {"stackshift_alembic_version"}


def connect(server: str, database: str | None = None) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    url = make_url(server)
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=database,
        autocommit=True,
        charset="utf8mb4",
    )


@dataclass
class Clone:
    name: str
    clean_since: datetime
    # Its schema was changed (later-release revisions): rows cannot be reset, it is replaced.
    altered: bool = False


@dataclass
class ClonePool:
    server: str
    template: str
    size: int = 2
    _ready: queue.Queue[Clone] = field(default_factory=queue.Queue)
    _used: queue.Queue[Clone | None] = field(default_factory=queue.Queue)
    _ddl: list[str] = field(default_factory=list)
    _rows: dict[str, int] = field(default_factory=dict)
    _keys: dict[str, list[str]] = field(default_factory=dict)
    _columns: dict[str, list[str]] = field(default_factory=dict)
    _all: list[str] = field(default_factory=list)
    _clean: dict[str, datetime] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> None:
        with connect(self.server, self.template) as conn, conn.cursor() as cur:
            self._read_template(cur)
        self._thread = threading.Thread(target=self._run, name="mariadb-clones", daemon=True)
        self._thread.start()

    def take(self) -> str:
        while True:
            if self._error is not None:
                raise RuntimeError("the clone thread failed") from self._error
            try:
                clone = self._ready.get(timeout=1.0)
            except queue.Empty:
                continue
            self._clean[clone.name] = clone.clean_since
            return clone.name

    def give_back(self, name: str, *, altered: bool = False) -> None:
        self._used.put(Clone(name, self._clean.pop(name), altered))

    def close(self) -> None:
        self._used.put(None)
        if self._thread is not None:
            self._thread.join(timeout=120)
        with connect(self.server) as conn, conn.cursor() as cur:
            for name in self._all:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def _read_template(self, cur: pymysql.cursors.Cursor) -> None:
        cur.execute("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")
        for name, _kind in cur.fetchall():
            cur.execute(f"SHOW CREATE TABLE `{name}`")
            self._ddl.append(cur.fetchone()[1])
            cur.execute(f"SELECT COUNT(*) FROM `{name}`")
            self._rows[name] = int(cur.fetchone()[0])
            cur.execute(
                "SELECT column_name, column_key FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (self.template, name),
            )
            columns = cur.fetchall()
            self._columns[name] = [c for c, _ in columns]
            self._keys[name] = [c for c, key in columns if key == "PRI"]

    def _run(self) -> None:
        try:
            for _ in range(self.size):
                self._ready.put(self._clone())
            while (used := self._used.get()) is not None:
                self._ready.put(self._replace(used) if used.altered else self._reset(used))
        except BaseException as error:  # surfaced to the test that waits in take()
            self._error = error

    def _clone(self) -> Clone:
        name = f"ss_test_{uuid.uuid4().hex[:16]}"
        self._all.append(name)
        with connect(self.server) as conn, conn.cursor() as cur:
            cur.execute(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci"
            )
            cur.execute(f"USE `{name}`")
            cur.execute("SET SESSION foreign_key_checks = 0")
            for ddl in self._ddl:
                cur.execute(ddl)
            for table, rows in self._rows.items():
                if rows:
                    cur.execute(f"INSERT INTO `{table}` SELECT * FROM `{self.template}`.`{table}`")
            return Clone(name, self._now(cur))

    def _replace(self, used: Clone) -> Clone:
        with connect(self.server) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{used.name}`")
        return self._clone()

    @staticmethod
    def _now(cur: pymysql.cursors.Cursor) -> datetime:
        cur.execute("SELECT NOW()")
        value: datetime = cur.fetchone()[0]
        return value

    def _reset(self, used: Clone) -> Clone:
        with connect(self.server, used.name) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND update_time >= %s",
                (used.name, used.clean_since),
            )
            changed = [row[0] for row in cur.fetchall() if row[0] not in _KEEP]
            cur.execute("SET SESSION foreign_key_checks = 0")
            clean_since = self._now(cur)
            for table in changed:
                self._restore(cur, table)
            return Clone(used.name, clean_since)

    def _restore(self, cur: pymysql.cursors.Cursor, table: str) -> None:
        rows = self._rows.get(table, 0)
        if rows <= _WHOLESALE_ROWS or not self._keys.get(table):
            cur.execute(f"DELETE FROM `{table}`")
            if rows:
                cur.execute(f"INSERT INTO `{table}` SELECT * FROM `{self.template}`.`{table}`")
            return
        keys, columns = self._keys[table], self._columns[table]
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        same = " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in columns)
        source = f"`{self.template}`.`{table}`"
        cur.execute(
            f"DELETE t FROM `{table}` t LEFT JOIN {source} s ON {on} WHERE s.`{keys[0]}` IS NULL"
        )
        cur.execute(
            f"REPLACE INTO `{table}` SELECT s.* FROM {source} s LEFT JOIN `{table}` t ON {on} "
            f"WHERE t.`{keys[0]}` IS NULL OR NOT ({same})"
        )
