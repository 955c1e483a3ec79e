"""API-key request signatures (v1 and v3) with CloudStack's exact canonicalisation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

# Java's URLEncoder keeps `*` (Python's quote does not) and encodes `~` (Python keeps it).
_SAFE = "*-._"


def java_url_encode(value: str) -> str:
    """URLEncoder.encode(value, UTF-8) with `+` replaced by `%20`, as the server signs."""
    return quote(value, safe=_SAFE).replace("~", "%7E")


def canonical_string(params: Iterable[tuple[str, str]]) -> str:
    """The lower-cased string that is signed: every parameter but `signature`, sorted by
    the name exactly as sent (code-unit order, before lower-casing)."""
    kept = [(k, v) for k, v in params if k.lower() != "signature"]
    joined = "&".join(f"{k}={java_url_encode(v)}" for k, v in _code_unit_sorted(kept))
    return joined.lower()


def _code_unit_sorted(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Java compares UTF-16 code units; for names outside the BMP Python's code-point order
    # differs, so sort on the UTF-16 encoding to stay exact.
    return sorted(pairs, key=lambda kv: kv[0].encode("utf-16-be"))


def sign(params: Iterable[tuple[str, str]], secret_key: str) -> str:
    message = canonical_string(params).encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), message, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(params: Iterable[tuple[str, str]], secret_key: str, given: str) -> bool:
    """Constant-time comparison of the expected and the given signature."""
    expected = sign(params, secret_key)
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))


_EXPIRES_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%SZ%z",
)


def parse_expires(value: str) -> datetime | None:
    """Parse an `expires` value in any format the server accepts; None if none fits."""
    text = value.strip()
    if text.endswith("Z") and "Z" not in text[:-1]:
        text = text[:-1] + "+0000"
    for fmt in _EXPIRES_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def expired(value: str, now: datetime | None = None) -> bool:
    """True when `expires` is unparseable or already in the past (no skew allowance)."""
    when = parse_expires(value)
    if when is None:
        return True
    return when < (now or datetime.now(UTC))
