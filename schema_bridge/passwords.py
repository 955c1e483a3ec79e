"""CloudStack's stored user-password formats: encode (PBKDF2) and constant-time verify.

Formats, as the management server's authenticators write them:
  PBKDF2      b64(64-byte salt):b64(PBKDF2-HMAC-SHA1, 512-bit key):iterations
  SHA256SALT  b64(32-byte salt):b64(SHA-256(password bytes + salt))
  MD5         32 lowercase hex digits
  PLAINTEXT   the password itself
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Final


class PasswordFormat(StrEnum):
    PBKDF2 = "PBKDF2"
    SHA256SALT = "SHA256SALT"
    MD5 = "MD5"
    PLAINTEXT = "PLAINTEXT"


# CloudStack's default `user.password.encoders.order`, without the external LDAP/SAML2 ones.
DEFAULT_ORDER: Final = (
    PasswordFormat.PBKDF2,
    PasswordFormat.SHA256SALT,
    PasswordFormat.MD5,
    PasswordFormat.PLAINTEXT,
)
PBKDF2_SALT_BYTES: Final = 64
PBKDF2_KEY_BYTES: Final = 64
PBKDF2_ITERATIONS: Final = 100_000
SHA256_SALT_BYTES: Final = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _pbkdf2(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), salt, iterations, PBKDF2_KEY_BYTES)


def encode_pbkdf2(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """The PBKDF2 form CloudStack writes for new passwords (random 64-byte salt by default)."""
    salt = secrets.token_bytes(PBKDF2_SALT_BYTES) if salt is None else salt
    return f"{_b64(salt)}:{_b64(_pbkdf2(password, salt, iterations))}:{iterations}"


def encode_sha256salt(password: str, *, salt: bytes | None = None) -> str:
    """The SHA256SALT form (older installs); for tests and migrations of such rows."""
    salt = secrets.token_bytes(SHA256_SALT_BYTES) if salt is None else salt
    digest = hashlib.sha256(password.encode("utf-8") + salt).digest()
    return f"{_b64(salt)}:{_b64(digest)}"


def encode_md5(password: str) -> str:
    """The MD5 form (legacy, unsalted)."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify_pbkdf2(password: str, stored: str) -> bool:
    parts = stored.split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        return False
    salt, expected = _unb64(parts[0]), _unb64(parts[1])
    iterations = int(parts[2])
    # Checking the key length first keeps malformed rows from costing a full derivation.
    if salt is None or expected is None or len(expected) != PBKDF2_KEY_BYTES:
        return False
    if not 0 < iterations <= 10_000_000:
        return False
    return hmac.compare_digest(_pbkdf2(password, salt, iterations), expected)


def verify_sha256salt(password: str, stored: str) -> bool:
    parts = stored.split(":")
    if len(parts) != 2:
        return False
    salt, expected = _unb64(parts[0]), _unb64(parts[1])
    if salt is None or expected is None:
        return False
    digest = hashlib.sha256(password.encode("utf-8") + salt).digest()
    return hmac.compare_digest(digest, expected)


def verify_md5(password: str, stored: str) -> bool:
    if len(stored) != 32:
        return False
    return hmac.compare_digest(encode_md5(password).encode(), stored.encode("utf-8"))


def verify_plaintext(password: str, stored: str) -> bool:
    return hmac.compare_digest(password.encode("utf-8"), stored.encode("utf-8"))


_VERIFIERS: Final[dict[PasswordFormat, Callable[[str, str], bool]]] = {
    PasswordFormat.PBKDF2: verify_pbkdf2,
    PasswordFormat.SHA256SALT: verify_sha256salt,
    PasswordFormat.MD5: verify_md5,
    PasswordFormat.PLAINTEXT: verify_plaintext,
}


def matching_format(
    password: str, stored: str, formats: Sequence[PasswordFormat] = DEFAULT_ORDER
) -> PasswordFormat | None:
    """The first format in `formats` under which `password` matches `stored`, if any."""
    for password_format in formats:
        if _VERIFIERS[password_format](password, stored):
            return password_format
    return None


def verify_password(
    password: str, stored: str, formats: Sequence[PasswordFormat] = DEFAULT_ORDER
) -> bool:
    """Whether `password` matches the stored value under any of `formats`, tried in order."""
    return matching_format(password, stored, formats) is not None
