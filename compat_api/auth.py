"""Authentication of API-key requests, in the order the real server checks them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from compat_api import errors, logs, signing
from compat_api.caller import Caller
from compat_api.config_cache import ServerConfig
from schema_bridge import accounts, encryption
from schema_bridge.accounts import UserRecord
from schema_bridge.db import Database


def to_caller(record: UserRecord) -> Caller:
    return Caller(
        user_id=record.user_id,
        user_uuid=record.user_uuid,
        username=record.username,
        firstname=record.firstname,
        lastname=record.lastname,
        timezone=record.timezone,
        account_id=record.account_id,
        account_uuid=record.account_uuid,
        account_name=record.account_name,
        account_type=record.account_type,
        domain_id=record.domain_id,
        domain_uuid=record.domain_uuid,
        domain_name=record.domain_name,
        domain_path=record.domain_path,
        role_id=record.role_id,
        role_type=record.role_type or "User",
    )


@dataclass
class KeyCache:
    """API key → user record for a short time; hot paths skip a query per request."""

    ttl: float
    _entries: dict[str, tuple[float, UserRecord | None]] = field(default_factory=dict)

    async def lookup(self, db: Database, api_key: str) -> UserRecord | None:
        now = time.monotonic()
        hit = self._entries.get(api_key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        async with db.reader.connect() as conn:
            record = await accounts.user_by_api_key(conn, api_key)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[api_key] = (now, record)
        return record


def _first(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """A parameter whose name is matched case-insensitively (apiKey, signature...)."""
    found = None
    for key, value in pairs:
        if key.lower() == name:
            found = value
    return found


def api_key_allowed(record: UserRecord, config: ServerConfig) -> bool:
    if record.user_api_key_access is not None:
        return record.user_api_key_access
    if record.account_api_key_access is not None:
        return record.account_api_key_access
    return config.api_key_access_default


async def verify_api_key(
    db: Database,
    cache: KeyCache,
    config: ServerConfig,
    pairs: Sequence[tuple[str, str]],
    encryption_key: str | None,
) -> UserRecord:
    """The signed request's user; every failure is the same 401 (no oracle for attackers).

    The role check (432) happens later, in dispatch, for session and key requests alike.
    """
    api_key, signature = _first(pairs, "apikey"), _first(pairs, "signature")
    if not api_key or not signature:
        raise errors.signature_error()
    if _first(pairs, "signatureversion") == "3":
        expires = _first(pairs, "expires")
        if expires is None or signing.expired(expires):
            raise errors.signature_error()
    record = await cache.lookup(db, api_key)
    if record is None or not record.enabled or not api_key_allowed(record, config):
        raise errors.signature_error()
    if not record.secret_key:
        raise errors.signature_error()
    try:
        secret = encryption.decrypt(record.secret_key, encryption_key)
    except encryption.DecryptionError:
        logs.ERRORS.error(
            logs.line(
                error="secret key of user cannot be decrypted; check the configured encryption key",
                user=record.user_uuid,
            )
        )
        raise errors.signature_error() from None
    if not signing.signature_matches(pairs, secret, signature):
        raise errors.signature_error()
    return record
