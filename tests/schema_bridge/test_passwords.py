"""CloudStack password formats: JDK-computed vectors, properties, and the seeded admin."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schema_bridge.facts import load_seed_facts
from schema_bridge.passwords import (
    PasswordFormat,
    encode_md5,
    encode_pbkdf2,
    encode_sha256salt,
    matching_format,
    verify_password,
    verify_pbkdf2,
)

# Produced by tests/schema_bridge/vectors/JavaVectors.java with the JDK's own providers.
JAVA_PASSWORD = "pässword"
JAVA_PBKDF2 = (
    "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRg==:"
    "KgE/IU4VPTiNJ43h3ROuLzEu26SVPwM8RNCAkkX6otr7K/0PF/Hs4K95Z5zYzcBeARBGNoT8Q/p4AINntGksjA==:"
    "100000"
)
JAVA_SHA256SALT = (
    "CQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJyg=:PfMkYkR7DXV5rsbxZsGBAVacijA9l++Dl1h6nZ+U308="
)
FAST = 1000  # iterations for property tests; the format is the same as with 100000
passwords = st.text(min_size=0, max_size=40)


def test_jdk_pbkdf2_vector() -> None:
    assert matching_format(JAVA_PASSWORD, JAVA_PBKDF2) == PasswordFormat.PBKDF2
    assert encode_pbkdf2(JAVA_PASSWORD, salt=bytes(range(7, 71))) == JAVA_PBKDF2


def test_jdk_sha256salt_vector() -> None:
    assert matching_format(JAVA_PASSWORD, JAVA_SHA256SALT) == PasswordFormat.SHA256SALT
    assert encode_sha256salt(JAVA_PASSWORD, salt=bytes(range(9, 41))) == JAVA_SHA256SALT


def test_seed_facts_admin_hash_verifies_password() -> None:
    admin = next(row for row in load_seed_facts()["tables"]["user"] if row["username"] == "admin")
    assert matching_format("password", admin["password"]) == PasswordFormat.PBKDF2
    assert not verify_password("Password", admin["password"])


def test_new_pbkdf2_hash_shape() -> None:
    salt, key, iterations = encode_pbkdf2("password").split(":")
    assert (len(salt), len(key), iterations) == (88, 88, "100000")
    assert encode_pbkdf2("password") != encode_pbkdf2("password")


@settings(max_examples=25, deadline=None)
@given(password=passwords, other=passwords)
def test_pbkdf2_round_trip(password: str, other: str) -> None:
    stored = encode_pbkdf2(password, iterations=FAST)
    assert verify_pbkdf2(password, stored)
    assert verify_pbkdf2(other, stored) == (other == password)


@given(password=passwords, other=passwords)
def test_sha256salt_round_trip(password: str, other: str) -> None:
    stored = encode_sha256salt(password)
    assert matching_format(password, stored) == PasswordFormat.SHA256SALT
    assert verify_password(other, stored, [PasswordFormat.SHA256SALT]) == (other == password)


@given(password=passwords, other=passwords)
def test_md5_and_plaintext(password: str, other: str) -> None:
    md5 = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    assert encode_md5(password) == md5
    assert verify_password(password, md5, [PasswordFormat.MD5])
    assert verify_password(other, md5, [PasswordFormat.MD5]) == (other == password)
    assert verify_password(other, password, [PasswordFormat.PLAINTEXT]) == (other == password)


@given(stored=st.text(max_size=120), password=passwords)
def test_garbage_never_crashes_or_matches(stored: str, password: str) -> None:
    salted = [PasswordFormat.PBKDF2, PasswordFormat.SHA256SALT]
    assert matching_format(password, stored, salted) is None


@pytest.mark.parametrize(
    "stored",
    ["", "a:b:c", "AAAA:AAAA:0", "AAAA:AAAA:99999999999", "!!:AAAA", "abc", "x" * 32],
)
def test_malformed_values_do_not_verify(stored: str) -> None:
    assert matching_format("password", stored, list(PasswordFormat)[:3]) is None


def test_format_order_is_respected() -> None:
    # A PLAINTEXT row that happens to look like nothing else matches only as PLAINTEXT.
    assert matching_format("hunter2", "hunter2") == PasswordFormat.PLAINTEXT
    assert matching_format("hunter2", "hunter2", [PasswordFormat.PBKDF2]) is None
