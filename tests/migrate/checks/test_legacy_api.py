"""The legacy API check against a live CloudStack-compatible server (stackshift itself plays
the legacy management server here), and its refusals."""

from __future__ import annotations

import re

from compat_api.commands import build_registry
from migrate.checks import Target, legacy_api
from tests.compat_api.conftest import Api, db_url_of
from tests.compat_api.test_cli import free_port
from tests.conftest import TEST_ENCRYPTION_KEY


def _target(api: Api, url: str, **keys: str | None) -> Target:
    return Target(db=api.db, url=db_url_of(api.db), legacy_url=url, **keys)  # type: ignore[arg-type]


async def test_version_and_listapis_with_the_root_admins_keys(api: Api) -> None:
    url = str(api.client.make_url("/client/api"))
    findings = await legacy_api.run(_target(api, url, encryption_key=TEST_ENCRYPTION_KEY))
    version, apis = findings
    assert version.line() == f"PASS legacy_api: CloudStack 4.20.2.0 answers at {url}"
    assert apis.status == "PASS"
    match = re.fullmatch(
        r"listApis: (\d+) commands; the engine implements (\d+) of them; only legacy has 0; "
        r"only the engine has (\d+).*",
        apis.found,
    )
    assert match is not None, apis.found
    assert int(match[1]) == int(match[2]) == len(build_registry().names())


async def test_keys_given_on_the_command_line(api: Api) -> None:
    base = str(api.client.make_url("/"))  # the bare server URL: /client/api is added
    findings = await legacy_api.run(
        _target(api, base, api_key=api.admin.api_key, secret_key=api.admin.secret_key)
    )
    assert [f.status for f in findings] == ["PASS", "PASS"]


async def test_reachable_without_usable_keys(api: Api) -> None:
    url = str(api.client.make_url("/client/api"))
    # Without the encryption key the stored secret cannot be decrypted: a bad signature.
    (finding,) = await legacy_api.run(_target(api, url))
    assert finding.line() == (
        "WARN legacy_api: reachable, but a signed listCapabilities failed (HTTP 401: unable "
        "to verify user credentials and/or request signature). To do: pass the root admin's "
        "--api-key and --secret-key"
    )


async def test_unreachable(api: Api) -> None:
    url = f"http://127.0.0.1:{free_port()}/client/api"
    (finding,) = await legacy_api.run(_target(api, url))
    assert finding.status == "FAIL"
    assert finding.found.startswith(f"cannot reach {url}: ClientConnectorError")
    assert finding.todo == "check the URL and that the management server is running"


async def test_an_unusable_url_never_shows_its_password(api: Api) -> None:
    url = "http://ops:s3cr3t-pw@127.0.0.1:99999/client/api"  # the port is out of range
    (finding,) = await legacy_api.run(_target(api, url))
    assert finding.status == "FAIL" and "s3cr3t-pw" not in finding.line()
    assert finding.found == (
        "cannot reach (unparsable URL): InvalidUrlClientError the legacy URL is not a valid URL"
    )
