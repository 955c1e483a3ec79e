"""CloudStack's column encryption with the installation key (`db.cloud.encrypt.secret`).

V2 (current): AES-256-GCM, key = SHA-256(secret), value = base64(12-byte IV + ciphertext +
16-byte tag), no associated data. V1 (older installs): Jasypt PBEWithMD5AndDES, value =
base64(8-byte salt + DES-CBC ciphertext), key and IV from 1000 rounds of MD5 over
password + salt. Decryption tries V2 then V1, as CloudStack does; encryption writes V2.
Without a configured key the values are stored in plain text and pass through unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.padding import PKCS7

GCM_IV_BYTES: Final = 12
GCM_TAG_BYTES: Final = 16
PBE_SALT_BYTES: Final = 8
PBE_ITERATIONS: Final = 1000
DES_BLOCK_BITS: Final = 64


class DecryptionError(ValueError):
    """The value is neither V2 nor V1 ciphertext under the configured key."""


def _v2_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def encrypt_v2(plaintext: str, secret: str) -> str:
    iv = secrets.token_bytes(GCM_IV_BYTES)
    sealed = AESGCM(_v2_key(secret)).encrypt(iv, plaintext.encode("utf-8"), None)
    return base64.b64encode(iv + sealed).decode("ascii")


def decrypt_v2(value: str, secret: str) -> str:
    raw = _b64decode(value)
    if len(raw) < GCM_IV_BYTES + GCM_TAG_BYTES:
        raise DecryptionError("too short for AES-GCM")
    try:
        opened = AESGCM(_v2_key(secret)).decrypt(raw[:GCM_IV_BYTES], raw[GCM_IV_BYTES:], None)
    except InvalidTag as error:
        raise DecryptionError("AES-GCM tag mismatch") from error
    return _utf8(opened)


def _pbe_key_iv(secret: str, salt: bytes) -> tuple[bytes, bytes]:
    # Java's PBEKeySpec keeps only the low byte of each password char for this algorithm.
    derived = bytes(ord(char) & 0xFF for char in secret) + salt
    for _ in range(PBE_ITERATIONS):
        derived = hashlib.md5(derived, usedforsecurity=False).digest()
    return derived[:8], derived[8:16]


def _des_cipher(secret: str, salt: bytes) -> Cipher[modes.CBC]:
    key, iv = _pbe_key_iv(secret, salt)
    # Three equal DES keys make TripleDES (EDE) exactly single DES, PBEWithMD5AndDES's cipher.
    return Cipher(TripleDES(key * 3), modes.CBC(iv))


def encrypt_v1(plaintext: str, secret: str, *, salt: bytes | None = None) -> str:
    """Jasypt V1 form; stackshift never writes it, tests and migrations need it."""
    salt = secrets.token_bytes(PBE_SALT_BYTES) if salt is None else salt
    padder = PKCS7(DES_BLOCK_BITS).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = _des_cipher(secret, salt).encryptor()
    return base64.b64encode(salt + encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt_v1(value: str, secret: str) -> str:
    raw = _b64decode(value)
    body = raw[PBE_SALT_BYTES:]
    if not body or len(body) % (DES_BLOCK_BITS // 8):
        raise DecryptionError("not a whole number of DES blocks")
    decryptor = _des_cipher(secret, raw[:PBE_SALT_BYTES]).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = PKCS7(DES_BLOCK_BITS).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise DecryptionError("bad DES padding (wrong key?)") from error
    return _utf8(plain)


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise DecryptionError("not base64") from error


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecryptionError("decrypted bytes are not UTF-8 (wrong key?)") from error


def encrypt(plaintext: str, secret: str | None) -> str:
    """The value to store: V2 ciphertext, or the plaintext itself when no key is configured."""
    return plaintext if secret is None else encrypt_v2(plaintext, secret)


def decrypt(value: str, secret: str | None) -> str:
    """The plaintext of a stored value: V2, then V1; unchanged when no key is configured."""
    if secret is None:
        return value
    try:
        return decrypt_v2(value, secret)
    except DecryptionError:
        pass
    try:
        return decrypt_v1(value, secret)
    except DecryptionError as error:
        raise DecryptionError("value is neither V2 nor V1 ciphertext under this key") from error
