"""Browser sessions: JSESSIONID cookie plus session key, shared by every worker process."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schema_bridge import accounts
from schema_bridge import sessions as store
from schema_bridge.accounts import UserRecord
from schema_bridge.db import Database

# Writing last_seen on every call would make each read a write; a minute of slack on a
# 30-minute idle timeout is invisible to users.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass
class SessionCache:
    """Sessions and their users as last read, for `ttl` seconds (auth_cache_seconds).

    A browser fires a burst of calls at once; each would otherwise read its session and
    user first. Ending a session here forgets it at once; one ended by another process is
    honoured here within `ttl`, as a revoked API key is (the key cache)."""

    ttl: float
    _rows: dict[str, tuple[float, store.SessionRow]] = field(default_factory=dict)
    _users: dict[int, tuple[float, UserRecord | None]] = field(default_factory=dict)

    def row(self, digest: str) -> store.SessionRow | None:
        hit = self._rows.get(digest)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl else None

    def keep(self, row: store.SessionRow) -> None:
        if len(self._rows) > 10_000:
            self._rows.clear()
        self._rows[row.id_digest] = (time.monotonic(), row)

    def forget(self, digest: str) -> None:
        self._rows.pop(digest, None)

    def keep_user(self, record: UserRecord) -> None:
        self._users[record.user_id] = (time.monotonic(), record)

    async def user(self, db: Database, user_id: int) -> UserRecord | None:
        hit = self._users.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        async with db.reader.connect() as conn:
            record = await accounts.user_by_id(conn, user_id)
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[user_id] = (time.monotonic(), record)
        return record


@dataclass(frozen=True)
class NewSession:
    session_id: str
    session_key: str


async def create(
    db: Database, user_id: int, timeout_s: int, cache: SessionCache | None = None
) -> NewSession:
    session_id = secrets.token_hex(16).upper()
    # 20 random bytes, base64url without padding: the server's sessionkey format.
    session_key = base64.urlsafe_b64encode(secrets.token_bytes(20)).rstrip(b"=").decode("ascii")
    now = _now()
    row = store.SessionRow(_digest(session_id), _digest(session_key), user_id, now, now, timeout_s)
    async with db.engine.begin() as conn:
        await store.insert(conn, row)
    if cache is not None:  # the calls a browser makes right after logging in find it here
        cache.keep(row)
    return NewSession(session_id, session_key)


async def destroy(db: Database, session_id: str, cache: SessionCache | None = None) -> None:
    digest = _digest(session_id)
    if cache is not None:
        cache.forget(digest)
    async with db.engine.begin() as conn:
        await store.remove(conn, digest)


async def find(
    db: Database, session_id: str, cache: SessionCache | None = None
) -> store.SessionRow | None:
    """The live session for this id, touching it; None when unknown or idle too long.
    Only a touch or an expiry writes: a plain read takes no write lock (SQLite)."""
    digest = _digest(session_id)
    now = _now()
    cached = cache.row(digest) if cache is not None else None
    if cached is not None and now - cached.last_seen <= timedelta(seconds=cached.timeout_s):
        return cached
    async with db.reader.connect() as conn:
        row = await store.get(conn, digest)
    if row is None:
        return None
    if now - row.last_seen > timedelta(seconds=row.timeout_s):
        await destroy(db, session_id, cache)
        return None
    if now - row.last_seen > _TOUCH_EVERY:
        async with db.engine.begin() as conn:
            await store.touch(conn, digest, now)
        row = dataclasses.replace(row, last_seen=now)
    if cache is not None:
        cache.keep(row)
    return row


def key_matches(row: store.SessionRow, key: str | None) -> bool:
    if key is None:
        return False
    return hmac.compare_digest(row.key_digest, _digest(key))


def key_check(row: store.SessionRow, locations: str, cookie: str | None, param: str | None) -> bool:
    """api.sessionkey.check.locations: where the key must be presented."""
    if locations == "ParameterOnly":
        return key_matches(row, param) and (cookie is None or key_matches(row, cookie))
    if locations == "CookieOrParameter":
        present = [k for k in (cookie, param) if k is not None]
        return bool(present) and all(key_matches(row, k) for k in present)
    return key_matches(row, cookie) and key_matches(row, param)


async def adopt(
    db: Database,
    session_id: str,
    session_key: str,
    user_id: int,
    timeout_s: int,
    legacy: tuple[str, str],
    cache: SessionCache | None = None,
) -> None:
    """Make a session legacy created ours too, under the same id and key (replacing any row
    already there), so the engine accepts the cookie legacy handed out."""
    now = _now()
    digest = _digest(session_id)
    if cache is not None:
        cache.forget(digest)
    row = store.SessionRow(
        digest, _digest(session_key), user_id, now, now, timeout_s, legacy[0], legacy[1]
    )
    async with db.engine.begin() as conn:
        await store.remove(conn, digest)
        await store.insert(conn, row)


async def map_legacy(
    db: Database, session_id: str, legacy: tuple[str, str], cache: SessionCache | None = None
) -> None:
    """Record legacy's (encrypted) session id and key beside one of ours."""
    if cache is not None:
        cache.forget(_digest(session_id))
    async with db.engine.begin() as conn:
        await store.set_legacy(conn, _digest(session_id), legacy[0], legacy[1])
