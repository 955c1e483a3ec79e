"""createSSHKeyPair, registerSSHKeyPair and deleteSSHKeyPair (synchronous).

Keys are stored as CloudStack's SSHKeysHelper leaves them: the public key as "<type>
<base64>" (a generated one as JSch writes it, with a trailing " \n"), the fingerprint as the
colon-separated lower-case hex MD5 of the decoded key blob. A generated private key (PEM,
PKCS#1) is in the create response only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import struct
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors, shapes
from compat_api.context import CallContext
from compat_api.owners import ResourceOwner, resource_owner
from compat_api.registry import Command, declare
from compat_api.render import ObjectResult, Result, SuccessResult
from compat_api.responses import sshkeypair
from schema_bridge import configuration, keypair_rows, keypairs
from schema_bridge.dialect import utc_now
from schema_bridge.events import NewEvent, record
from schema_bridge.keypair_rows import NewKeypair

SHAPE = shapes.of("createSSHKeyPair")
KEY_TYPES: Final = (
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-ed25519",
)
DEFAULT_KEY_BITS: Final = 2048
INVALID_KEY: Final = "Public key is invalid"


def _blob(text: str) -> bytes:
    """Base64 decoded leniently, as commons-codec does: characters outside the alphabet are
    skipped and missing padding is tolerated."""
    kept = "".join(c for c in text if c.isalnum() or c in "+/")
    return base64.b64decode(kept + "=" * (-len(kept) % 4)) if kept else b""


def public_key_of(material: str) -> str:
    """The "<type> <base64>" part of key material (a bare base64 of it is decoded first);
    refuses what is not an SSH public key of a known type."""
    if " " not in material:
        try:
            material = base64.b64decode(material.strip() + "==", validate=False).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise errors.invalid_parameter(INVALID_KEY) from None
    if not material.startswith(KEY_TYPES) or " " not in material:
        raise errors.invalid_parameter(INVALID_KEY)
    kind, encoded = material.split(" ")[:2]
    blob = _blob(encoded)
    # The blob starts with its own type name (RFC 4253 string): reject text that only
    # looks like a key.
    if len(blob) < 4 or blob[4 : 4 + struct.unpack(">I", blob[:4])[0]] != kind.encode():
        raise errors.invalid_parameter(INVALID_KEY)
    return f"{kind} {encoded}"


def fingerprint_of(public_key: str) -> str:
    digest = hashlib.md5(_blob(public_key.split(" ")[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate(bits: int) -> tuple[str, str]:
    """(public key as JSch writes it, private key PEM) of a new RSA key pair."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    openssh = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return f"{openssh.decode()} \n", pem.decode()


async def _key_bits(conn: AsyncConnection) -> int:
    raw = (await configuration.values(conn, ["ssh.key.length"])).get("ssh.key.length")
    try:
        bits = int(raw) if raw else DEFAULT_KEY_BITS
    except ValueError:
        bits = DEFAULT_KEY_BITS
    return bits if bits >= 1024 else DEFAULT_KEY_BITS


async def _check_name(conn: AsyncConnection, owner: ResourceOwner, name: str) -> None:
    await keypair_rows.lock_owner(conn, owner.account_id)
    if await keypair_rows.by_name(conn, owner.account_id, owner.domain_id, name) is not None:
        raise errors.invalid_parameter(f"A key pair with name '{name}' already exists.")


async def _shown(conn: AsyncConnection, keypair_id: int) -> dict[str, Any]:
    page = await keypairs.keypairs_page(
        conn, keypairs.KeypairFilter(id=keypair_id, exclude_projects=False), 0, 1
    )
    listed = sshkeypair.present(page.rows[0])
    listed.pop("hasannotations", None)  # create/register responses do not carry it
    return listed


async def _store(conn: AsyncConnection, owner: ResourceOwner, name: str, public_key: str) -> int:
    fingerprint = fingerprint_of(public_key)
    if await keypair_rows.by_fingerprint(conn, owner.account_id, fingerprint):
        raise errors.invalid_parameter(
            f"A key pair with key '{public_key.strip()}' already exists for this account."
        )
    new = NewKeypair(owner.account_id, owner.domain_id, name, fingerprint, public_key)
    return (await keypair_rows.insert_keypair(conn, new)).id


async def create_ssh_key_pair(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.connect() as conn:
        bits = await _key_bits(conn)
    public_key, private_key = await asyncio.to_thread(generate, bits)
    async with ctx.db.engine.begin() as conn:
        owner = await resource_owner(ctx, conn, args)
        await _check_name(conn, owner, args["name"])
        keypair_id = await _store(conn, owner, args["name"], public_key)
        shown = await _shown(conn, keypair_id)
    return ObjectResult(SHAPE.build({"privatekey": private_key, **shown}), "keypair")


async def register_ssh_key_pair(ctx: CallContext, args: dict[str, Any]) -> Result:
    public_key = public_key_of(args["publickey"])
    caller = ctx.caller
    async with ctx.db.engine.begin() as conn:
        owner = await resource_owner(ctx, conn, args)
        await _check_name(conn, owner, args["name"])
        if await keypair_rows.by_public_key(conn, owner.account_id, owner.domain_id, public_key):
            raise errors.invalid_parameter(
                f"A key pair with key '{args['publickey']}' already exists for this account."
            )
        keypair_id = await _store(conn, owner, args["name"], public_key)
        await record(
            conn,
            NewEvent(
                type="REGISTER.SSH.KEYPAIR",
                description=f"registering ssh keypair {args['name']}",
                user_id=caller.user_id,
                account_id=owner.account_id,
                domain_id=owner.domain_id,
                created=utc_now(),
            ),
        )
        shown = await _shown(conn, keypair_id)
    return ObjectResult(SHAPE.build(shown), "keypair")


async def delete_ssh_key_pair(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.begin() as conn:
        owner = await resource_owner(ctx, conn, args)
        deleted = await keypair_rows.delete_by_name(
            conn, owner.account_id, owner.domain_id, args["name"]
        )
    if not deleted:
        raise errors.invalid_parameter(
            f"A key pair with name '{args['name']}' does not exist for account "
            f"{owner.account_name} in specified domain id"
        )
    return SuccessResult()


COMMANDS: list[Command] = [
    declare(
        "createSSHKeyPair",
        subsystem="vm",
        handler=create_ssh_key_pair,
        summary="Generates an RSA key pair, stores the public key and returns the private key "
        "once.",
    ),
    declare(
        "registerSSHKeyPair",
        subsystem="vm",
        handler=register_ssh_key_pair,
        summary="Registers an existing SSH public key under a name unique to the account.",
    ),
    declare(
        "deleteSSHKeyPair",
        subsystem="vm",
        handler=delete_ssh_key_pair,
        summary="Deletes an SSH key pair of the caller (or of an account an admin manages).",
    ),
]
