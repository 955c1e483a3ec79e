"""createSSHKeyPair, registerSSHKeyPair and deleteSSHKeyPair on a live server (SQLite and
MariaDB): what is stored (public key and CloudStack's MD5 fingerprint, never the private
key), names unique per account, CloudStack's error texts, and who may act for whom."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from compat_api.commands.ssh_actions import fingerprint_of, public_key_of
from schema_bridge.tables import event, ssh_keypairs
from tests.compat_api.conftest import Api


def openssh_key() -> str:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return raw.decode()


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()  # noqa: S324
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


async def stored(api: Api, name: str) -> list[tuple[str, str, int]]:
    async with api.db.engine.connect() as conn:
        query = select(
            ssh_keypairs.c.public_key, ssh_keypairs.c.fingerprint, ssh_keypairs.c.account_id
        ).where(ssh_keypairs.c.keypair_name == name)
        return [(str(k), str(f), int(a)) for k, f, a in (await conn.execute(query)).all()]


async def test_create_returns_the_private_key_once(api: Api) -> None:
    reply = await api.signed("createSSHKeyPair", api.user, name="laptop")
    keypair = reply.inner("createsshkeypairresponse")["keypair"]
    assert list(keypair) == [
        "privatekey", "id", "name", "account", "domainid", "domain", "fingerprint",
    ]  # fmt: skip
    assert keypair["privatekey"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    private = serialization.load_pem_private_key(keypair["privatekey"].encode(), password=None)
    [(public_key, fingerprint, owner)] = await stored(api, "laptop")
    assert owner == api.user.account_id
    assert public_key.startswith("ssh-rsa ") and public_key.endswith(" \n")
    derived = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert public_key.split()[1] == derived.decode().split()[1]
    assert fingerprint == keypair["fingerprint"] == md5_fingerprint(public_key)
    listed = await api.signed("listSSHKeyPairs", api.user, name="laptop")
    item = listed.inner("listsshkeypairsresponse")["sshkeypair"][0]
    assert (item["id"], item["fingerprint"]) == (keypair["id"], fingerprint)
    again = await api.signed("createSSHKeyPair", api.user, name="laptop")
    assert again.error("createsshkeypairresponse") == (
        431,
        4350,
        "A key pair with name 'laptop' already exists.",
    )
    other = await api.signed("createSSHKeyPair", api.domain_admin, name="laptop")
    assert other.status == 200  # names are unique per account only


async def test_register_validates_and_fingerprints(api: Api) -> None:
    key = openssh_key() + " alice@laptop"
    reply = await api.signed("registerSSHKeyPair", api.user, name="ci", publickey=key)
    keypair = reply.inner("registersshkeypairresponse")["keypair"]
    assert "privatekey" not in keypair
    assert keypair["fingerprint"] == md5_fingerprint(key)
    [(public_key, _, _)] = await stored(api, "ci")
    assert public_key == " ".join(key.split()[:2])  # the comment is dropped
    async with api.db.engine.connect() as conn:
        events = (
            await conn.execute(select(event.c.state).where(event.c.type == "REGISTER.SSH.KEYPAIR"))
        ).all()
    assert [tuple(e) for e in events] == [("Completed",)]
    same_key = await api.signed("registerSSHKeyPair", api.user, name="ci-2", publickey=key)
    code, _, text = same_key.error("registersshkeypairresponse")
    assert code == 431 and text.endswith("already exists for this account.")
    for bad in ("ssh-rsa", "not a key at all", "ssh-rsa bm90IGEga2V5"):
        refused = await api.signed("registerSSHKeyPair", api.user, name="bad", publickey=bad)
        assert refused.error("registersshkeypairresponse") == (431, 4350, "Public key is invalid")
    encoded = base64.b64encode(openssh_key().encode()).decode()
    whole = await api.signed("registerSSHKeyPair", api.user, name="b64", publickey=encoded)
    assert whole.status == 200


async def test_delete(api: Api) -> None:
    await api.signed("createSSHKeyPair", api.user, name="old")
    reply = await api.signed("deleteSSHKeyPair", api.user, name="old")
    assert reply.inner("deletesshkeypairresponse") == {"success": True}
    assert await stored(api, "old") == []
    again = await api.signed("deleteSSHKeyPair", api.user, name="old")
    assert again.error("deletesshkeypairresponse") == (
        431,
        4350,
        f"A key pair with name 'old' does not exist for account {api.user.account_name} in "
        "specified domain id",
    )


async def test_acting_for_other_accounts(api: Api) -> None:
    given = await api.signed(
        "createSSHKeyPair",
        api.admin,
        name="given",
        account=api.user.account_name,
        domainid=api.user.domain_uuid,
    )
    assert given.inner("createsshkeypairresponse")["keypair"]["account"] == "alice"
    denied = await api.signed(
        "deleteSSHKeyPair",
        api.user,
        name="given",
        account=api.admin.account_name,
        domainid=api.admin.domain_uuid,
    )
    assert denied.error("deletesshkeypairresponse")[:2] == (531, 4365)
    half = await api.signed("deleteSSHKeyPair", api.admin, name="given", account="alice")
    assert half.error("deletesshkeypairresponse") == (
        431,
        4350,
        "AccountName and domainId must be specified together",
    )
    removed = await api.signed(
        "deleteSSHKeyPair",
        api.admin,
        name="given",
        account=api.user.account_name,
        domainid=api.user.domain_uuid,
    )
    assert removed.status == 200 and await stored(api, "given") == []


def test_fingerprint_matches_ssh_keygen_md5() -> None:
    key = openssh_key()
    assert fingerprint_of(public_key_of(key)) == md5_fingerprint(key)
