"""Browser sessions that work on both backends.

A login the engine serves is repeated at legacy with the same credentials, and legacy's
JSESSIONID and sessionkey are stored (encrypted) beside our session; calls forwarded later
present them. A login legacy serves is adopted: our session takes legacy's id and key, so
engine-routed calls under legacy's cookie work and forwarded ones need no rewriting.
Legacy being down never fails a login the engine served: the session then works on the
engine only, and one line is logged.
"""

from __future__ import annotations

import html
import json
import re
from http.cookies import CookieError, SimpleCookie

from sqlalchemy import select

from compat_api import logs, sessions
from compat_api.dispatch import ApiRequest, Outcome, ServerState
from compat_api.legacy import LegacyReply, LegacyUnavailableError, forwarded_headers
from schema_bridge import encryption
from schema_bridge.sessions import SessionRow
from schema_bridge.tables import user

_XML_FIELD = "<{0}>([^<]*)</{0}>"
# A slow legacy may delay an engine login or logout this long at most, never fail it.
SIDE_CALL_SECONDS = 10.0


def legacy_pair(state: ServerState, row: SessionRow | None) -> tuple[str, str] | None:
    """Legacy's (JSESSIONID, sessionkey) for one of our sessions, when it has them."""
    if row is None or not row.legacy_session or not row.legacy_key:
        return None
    key = state.settings.encryption_key
    try:
        return encryption.decrypt(row.legacy_session, key), encryption.decrypt(row.legacy_key, key)
    except encryption.DecryptionError:
        return None


def _sealed(state: ServerState, session_id: str, session_key: str) -> tuple[str, str]:
    key = state.settings.encryption_key
    return encryption.encrypt(session_id, key), encryption.encrypt(session_key, key)


def cookie_value(set_cookies: list[str], name: str) -> str | None:
    for header in set_cookies:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        if name in jar:
            return jar[name].value
    return None


def _login_fields(body: bytes) -> dict[str, str]:
    """sessionkey and userid from a login answer in either format."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            inner = json.loads(text).get("loginresponse", {})
        except (ValueError, AttributeError):
            return {}
        return {k: str(inner[k]) for k in ("sessionkey", "userid") if k in inner}
    found = {}
    for name in ("sessionkey", "userid"):
        match = re.search(_XML_FIELD.format(name), text)
        if match:
            found[name] = html.unescape(match.group(1))
    return found


def _legacy_session(reply: LegacyReply) -> tuple[str, str, str] | None:
    """(JSESSIONID, sessionkey, user uuid) of a successful legacy login."""
    if reply.status != 200:
        return None
    fields = _login_fields(reply.body)
    session_id = cookie_value(reply.headers.getall("Set-Cookie", []), "JSESSIONID")
    if not session_id or "sessionkey" not in fields or "userid" not in fields:
        return None
    return session_id, fields["sessionkey"], fields["userid"]


async def adopt_legacy_login(state: ServerState, reply: LegacyReply) -> None:
    """Legacy served a login: make its session ours too."""
    found = _legacy_session(reply)
    if found is None:
        return
    session_id, session_key, user_uuid = found
    async with state.db.engine.connect() as conn:
        user_id = (await conn.execute(select(user.c.id).where(user.c.uuid == user_uuid))).scalar()
    if user_id is None:
        return
    sealed = _sealed(state, session_id, session_key)
    timeout = state.config.session_timeout_s
    await sessions.adopt(
        state.db, session_id, session_key, int(user_id), timeout, sealed, state.session_cache
    )


async def login_legacy_too(state: ServerState, req: ApiRequest, outcome: Outcome) -> None:
    """The engine served a login: log in at legacy as well and remember legacy's session."""
    ours = cookie_value(outcome.set_cookies, "JSESSIONID")
    if ours is None or state.legacy is None:
        return
    headers = forwarded_headers(req.headers, req.remote, req.scheme)
    headers.pop("Cookie", None)
    try:
        reply = await state.legacy.call(
            req.method, req.raw_query, req.body, headers, SIDE_CALL_SECONDS
        )
    except LegacyUnavailableError as error:
        _warn(req, f"legacy login skipped, legacy unreachable: {error}")
        return
    found = _legacy_session(reply)
    if found is None:
        _warn(req, f"legacy refused the login the engine accepted (HTTP {reply.status})")
        return
    await sessions.map_legacy(
        state.db, ours, _sealed(state, found[0], found[1]), state.session_cache
    )


async def logout_legacy_too(state: ServerState, req: ApiRequest, row: SessionRow | None) -> None:
    """The engine ended our session: end legacy's twin as well."""
    mapped = legacy_pair(state, row)
    if mapped is None or state.legacy is None:
        return
    legacy_id, legacy_key = mapped
    headers = forwarded_headers(req.headers, req.remote, req.scheme)
    headers.pop("Content-Type", None)
    headers["Cookie"] = f"JSESSIONID={legacy_id}; sessionkey={legacy_key}"
    try:
        query = "command=logout&response=json"
        await state.legacy.call("GET", query, b"", headers, SIDE_CALL_SECONDS)
    except LegacyUnavailableError as error:
        _warn(req, f"legacy logout skipped, legacy unreachable: {error}")


def _warn(req: ApiRequest, text: str) -> None:
    logs.ERRORS.warning(logs.line(error=text, request=req.request_id))
