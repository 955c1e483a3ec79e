"""Browser sessions: JSESSIONID cookie plus session key, shared by every worker process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schema_bridge import sessions as store
from schema_bridge.db import Database

# Writing last_seen on every call would make each read a write; a minute of slack on a
# 30-minute idle timeout is invisible to users.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class NewSession:
    session_id: str
    session_key: str


async def create(db: Database, user_id: int, timeout_s: int) -> NewSession:
    session_id = secrets.token_hex(16).upper()
    # 20 random bytes, base64url without padding: the server's sessionkey format.
    session_key = base64.urlsafe_b64encode(secrets.token_bytes(20)).rstrip(b"=").decode("ascii")
    now = _now()
    row = store.SessionRow(_digest(session_id), _digest(session_key), user_id, now, now, timeout_s)
    async with db.engine.begin() as conn:
        await store.insert(conn, row)
    return NewSession(session_id, session_key)


async def destroy(db: Database, session_id: str) -> None:
    async with db.engine.begin() as conn:
        await store.remove(conn, _digest(session_id))


async def find(db: Database, session_id: str) -> store.SessionRow | None:
    """The live session for this id, touching it; None when unknown or idle too long."""
    digest = _digest(session_id)
    async with db.engine.begin() as conn:
        row = await store.get(conn, digest)
        if row is None:
            return None
        now = _now()
        if now - row.last_seen > timedelta(seconds=row.timeout_s):
            await store.remove(conn, digest)
            return None
        if now - row.last_seen > _TOUCH_EVERY:
            await store.touch(conn, digest, now)
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
) -> None:
    """Make a session legacy created ours too, under the same id and key (replacing any row
    already there), so the engine accepts the cookie legacy handed out."""
    now = _now()
    digest = _digest(session_id)
    row = store.SessionRow(
        digest, _digest(session_key), user_id, now, now, timeout_s, legacy[0], legacy[1]
    )
    async with db.engine.begin() as conn:
        await store.remove(conn, digest)
        await store.insert(conn, row)


async def map_legacy(db: Database, session_id: str, legacy: tuple[str, str]) -> None:
    """Record legacy's (encrypted) session id and key beside one of ours."""
    async with db.engine.begin() as conn:
        await store.set_legacy(conn, _digest(session_id), legacy[0], legacy[1])
