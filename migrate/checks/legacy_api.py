"""The legacy CloudStack API, when --legacy-url is given: reachable, its version, and its
listApis against the commands stackshift's engine implements (the registry).

Unsigned, a CloudStack server still answers (401): that proves it is reachable. The version
and the command list need a signed call: the keys given on the command line, else the root
admin's (user id 2) from the database, its secret decrypted with STACKSHIFT_ENCRYPTION_KEY.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from compat_api.commands import build_registry
from compat_api.ops.health import legacy_target, scrubbed
from compat_api.signing import sign
from migrate.checks import Finding, Target
from schema_bridge import encryption
from schema_bridge.tables import user
from schema_bridge.version import current_version

NAME = "legacy_api"
TIMEOUT_SECONDS = 10.0
ROOT_ADMIN_ID = 2
SHOWN = 5


def api_url(url: str) -> str:
    """The API endpoint: `http://ms:8080` and `http://ms:8080/client/api` both work."""
    base = url.rstrip("/")
    return base if base.endswith("/api") else f"{base}/client/api"


async def _keys(target: Target) -> tuple[str, str] | None:
    if target.api_key and target.secret_key:
        return target.api_key, target.secret_key
    async with target.db.engine.connect() as conn:
        query = select(user.c.api_key, user.c.secret_key).where(user.c.id == ROOT_ADMIN_ID)
        row = (await conn.execute(query)).first()
    if row is None or not row.api_key or not row.secret_key:
        return None
    try:
        return str(row.api_key), encryption.decrypt(str(row.secret_key), target.encryption_key)
    except encryption.DecryptionError:
        return None


async def _call(
    session: aiohttp.ClientSession, url: str, keys: tuple[str, str] | None, command: str
) -> tuple[int, dict[str, Any]]:
    params = {"command": command, "response": "json"}
    if keys is not None:
        params["apiKey"] = keys[0]
        params["signature"] = sign(params.items(), keys[1])
    async with session.get(url, params=params, allow_redirects=False) as response:
        body = await response.json(content_type=None) if response.status < 500 else {}
        return response.status, body if isinstance(body, dict) else {}


def _comparison(legacy: set[str]) -> str:
    engine = set(build_registry().names())
    only_legacy, only_engine = sorted(legacy - engine), sorted(engine - legacy)

    def sample(names: list[str]) -> str:
        return f" ({', '.join(names[:SHOWN])}{', ...' if len(names) > SHOWN else ''})"

    return (
        f"listApis: {len(legacy)} commands; the engine implements {len(legacy & engine)} of "
        f"them; only legacy has {len(only_legacy)}{sample(only_legacy) if only_legacy else ''}"
        f"; only the engine has {len(only_engine)}"
        f"{sample(only_engine) if only_engine else ''}"
    )


async def _signed(
    session: aiohttp.ClientSession, url: str, keys: tuple[str, str], target: Target
) -> list[Finding]:
    status, body = await _call(session, url, keys, "listCapabilities")
    capability = body.get("listcapabilitiesresponse", {}).get("capability", {})
    version = capability.get("cloudstackversion")
    if status != 200 or not version:
        error: object = next(iter(body.values()), {}) if body else {}
        reason = error.get("errortext", "no answer") if isinstance(error, dict) else error
        return [
            Finding(
                "WARN",
                NAME,
                f"reachable, but a signed listCapabilities failed (HTTP {status}: {reason})",
                "pass the root admin's --api-key and --secret-key",
            )
        ]
    async with target.db.engine.connect() as conn:
        schema_version = await current_version(conn)
    same = schema_version is None or str(version).split("-")[0] == schema_version
    findings = [
        Finding(
            "PASS" if same else "WARN",
            NAME,
            f"CloudStack {version} answers at {legacy_target(url)}"
            + ("" if same else f", but the database is at {schema_version}"),
            "" if same else "point --legacy-url at a server of this database",
        )
    ]
    status, body = await _call(session, url, keys, "listApis")
    apis = body.get("listapisresponse", {}).get("api", [])
    names = {str(api["name"]) for api in apis if isinstance(api, dict) and "name" in api}
    findings.append(Finding("PASS", NAME, _comparison(names)))
    return findings


async def run(target: Target) -> list[Finding]:
    if not target.legacy_url:
        return []
    url = api_url(target.legacy_url)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            status, _ = await _call(session, url, None, "listCapabilities")
            if status >= 500:
                return [
                    Finding(
                        "FAIL",
                        NAME,
                        f"{legacy_target(url)} answered HTTP {status}",
                        "check the legacy management server's log",
                    )
                ]
            keys = await _keys(target)
            if keys is None:
                return [
                    Finding(
                        "WARN",
                        NAME,
                        f"{legacy_target(url)} is reachable (HTTP {status}); version and "
                        "listApis unknown: no keys",
                        "pass --api-key/--secret-key, or set STACKSHIFT_ENCRYPTION_KEY so the "
                        "root admin's keys can be read from the database",
                    )
                ]
            return await _signed(session, url, keys, target)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        return [
            Finding(
                "FAIL",
                NAME,
                f"cannot reach {legacy_target(url)}: "
                f"{type(error).__name__} {scrubbed(str(error), url)}",
                "check the URL and that the management server is running",
            )
        ]
