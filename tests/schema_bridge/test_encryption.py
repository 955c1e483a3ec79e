"""Column encryption: JDK-computed V1/V2 vectors, round trips, fallbacks and passthrough."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schema_bridge.encryption import (
    DecryptionError,
    decrypt,
    decrypt_v1,
    decrypt_v2,
    encrypt,
    encrypt_v1,
    encrypt_v2,
)

# Produced by tests/schema_bridge/vectors/JavaVectors.java (SunJCE PBEWithMD5AndDES, AES/GCM).
SECRET = "stackshift-secret"
MESSAGE = "hello, cloud \u00e9\u20ac"
JAVA_V1 = "AQIDBAUGBwhNmAGOADKEh9Udav6aeqv1XuUg6t6V4KU="
JAVA_V2 = "ICEiIyQlJicoKSorifEuH7FJpcC0EYmDh8iIUl+X0mx1c2J+EniIKhQAW7zMtA=="
texts = st.text(max_size=200)
keys = st.text(min_size=1, max_size=40)


def test_jdk_vectors_decrypt() -> None:
    assert decrypt_v1(JAVA_V1, SECRET) == MESSAGE
    assert decrypt_v2(JAVA_V2, SECRET) == MESSAGE
    assert decrypt(JAVA_V1, SECRET) == MESSAGE
    assert decrypt(JAVA_V2, SECRET) == MESSAGE


def test_v1_encryption_matches_the_jdk() -> None:
    assert encrypt_v1(MESSAGE, SECRET, salt=bytes(range(1, 9))) == JAVA_V1


def test_v2_layout_is_iv_ciphertext_tag() -> None:
    raw = base64.b64decode(encrypt_v2("abc", SECRET))
    assert len(raw) == 12 + 3 + 16


@settings(max_examples=50)
@given(plaintext=texts, key=keys)
def test_v2_round_trip(plaintext: str, key: str) -> None:
    stored = encrypt(plaintext, key)
    assert stored != plaintext or plaintext == ""
    assert decrypt(stored, key) == plaintext


@settings(max_examples=25)
@given(plaintext=texts, key=st.text(alphabet=st.characters(max_codepoint=255), min_size=1))
def test_v1_round_trip(plaintext: str, key: str) -> None:
    assert decrypt(encrypt_v1(plaintext, key), key) == plaintext


def test_wrong_key_is_an_error() -> None:
    with pytest.raises(DecryptionError):
        decrypt(encrypt("top secret value", SECRET), "another key")


@pytest.mark.parametrize("value", ["", "not base64!", "AAAA", base64.b64encode(b"x" * 40).decode()])
def test_garbage_is_an_error(value: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt(value, SECRET)


@given(value=texts)
def test_no_key_means_plaintext(value: str) -> None:
    assert encrypt(value, None) == value
    assert decrypt(value, None) == value
