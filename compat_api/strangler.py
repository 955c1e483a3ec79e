"""The strangler fig around legacy: route each request, forward it or run it on the engine.

Routing needs the caller only when some route depends on who calls (account, domain or
canary); the caller is then identified cheaply (API key through the key cache, session
cookie through our session table) without verifying the signature: a forwarded request is
verified by legacy, an engine one by dispatch. Sessions span both backends: each of ours
may carry legacy's JSESSIONID and sessionkey (encrypted), which forwarded calls present
instead of ours.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from compat_api import logs, render, session_bridge, sessions
from compat_api.dispatch import ApiRequest, Outcome, ServerState, exact
from compat_api.legacy import (
    HOP_BY_HOP,
    LegacyClient,
    LegacyReply,
    LegacyUnavailableError,
    forwarded_headers,
    unreachable_body,
)
from compat_api.routing import ENGINE, LEGACY, Decision, MirrorCall, RouteTable, is_read_only
from compat_api.signing import java_url_encode, sign
from schema_bridge import encryption
from schema_bridge.accounts import UserRecord
from schema_bridge.sessions import SessionRow

BACKEND_HEADER = "X-Stackshift-Backend"
# Served by app.py's authenticators, matched in any case as the servlet does; the value is
# the name routes know them by.
_AUTHENTICATORS = {"login": "login", "logout": "logout", "listoauthprovider": "listOauthProvider"}
_LOG = logging.getLogger("stackshift.strangler")
_EMPTY = RouteTable()


@dataclass(frozen=True)
class Identity:
    """Who calls, as far as routing needs to know."""

    account_uuid: str = ""
    account_name: str | None = None
    domain_path: str = ""
    session: SessionRow | None = None
    unknown_session: bool = False
    record: UserRecord | None = None


@dataclass(frozen=True)
class Routed:
    decision: Decision
    identity: Identity
    # listApis on the engine: legacy's entries for the same caller, to merge.
    legacy_apis: tuple[Mapping[str, Any], ...] = ()

    @property
    def backend(self) -> str:
        return self.decision.backend


def _first(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    found = None
    for key, value in pairs:
        if key.lower() == name:
            found = value
    return found


def _from_record(record: UserRecord | None, session: SessionRow | None = None) -> Identity:
    if record is None:
        return Identity(session=session)
    return Identity(
        record.account_uuid, record.account_name, record.domain_path, session, record=record
    )


async def identify(state: ServerState, req: ApiRequest, need_caller: bool) -> Identity:
    session_id = req.cookies.get("JSESSIONID")
    if session_id is not None:
        row = await sessions.find(state.db, session_id, state.session_cache)
        if row is None:
            return Identity(unknown_session=True)
        if not need_caller:
            return Identity(session=row)
        return _from_record(await state.session_cache.user(state.db, row.user_id), row)
    api_key = _first(req.pairs, "apikey")
    if not need_caller or not api_key:
        return Identity()
    return _from_record(await state.key_cache.lookup(state.db, api_key))


async def route(state: ServerState, req: ApiRequest, name: str) -> Routed:
    """The backend for this request (and, for listApis on the engine, legacy's list)."""
    if state.legacy is None:
        return Routed(Decision(ENGINE), Identity())
    table = state.routes.table if state.routes is not None else _EMPTY
    need = table.needs_caller or name == "listApis"
    identity = await identify(state, req, need)
    if identity.unknown_session and name.lower() != "login":
        return Routed(Decision(LEGACY), identity)  # a session legacy made before we knew it
    if name.lower() == "logout" and identity.session is not None:
        return Routed(Decision(ENGINE), identity)  # ends ours, then legacy's twin
    command = state.registry.get(name)
    authenticator = _AUTHENTICATORS.get(name.lower())
    decision = table.decide(
        command,
        authenticator or name,
        None,
        identity.account_uuid,
        identity.domain_path,
        implemented=command is not None or authenticator is not None,
    )
    if name == "listApis" and decision.backend == ENGINE:
        return Routed(decision, identity, await _legacy_apis(state, req, identity))
    return Routed(decision, identity)


def _access_outcome(name: str | None, identity: Identity) -> Outcome:
    """What the access log shows for a forwarded call (legacy's body is not parsed)."""
    return Outcome(render.Body(0, "", ""), name, identity.account_name)


async def forward(
    state: ServerState, request: web.Request, req: ApiRequest, name: str | None, routed: Routed
) -> tuple[web.StreamResponse, Outcome]:
    """Legacy answers: streamed as sent, or buffered when its body is needed here (login
    mapping, shadow comparison). Unreachable legacy → CloudStack's 530 envelope."""
    legacy = state.legacy
    assert legacy is not None
    raw_query, body, headers = as_legacy(state, req, routed.identity.session)
    outcome = _access_outcome(name, routed.identity)
    extra = {"X-Request-Id": req.request_id, BACKEND_HEADER: LEGACY}
    try:
        login = (name or "").lower() == "login"
        if login or (routed.decision.shadow and state.shadow is not None):
            reply = await legacy.call(req.method, raw_query, body, headers)
            if login:
                await session_bridge.adopt_legacy_login(state, reply)
            else:
                _offer(state, req, name or "", LEGACY, reply.status, reply.body, routed.decision)
            return _buffered(reply, extra), outcome
        sent = (req.method, raw_query, body, headers)
        return await _relay(legacy, request, sent, extra, is_read_only(name or "")), outcome
    except LegacyUnavailableError as error:
        logs.ERRORS.error(
            logs.line(error=f"legacy unreachable: {error}", command=name, request=req.request_id)
        )
        fmt = render.response_format(exact(req.pairs, "response"))
        failed = Outcome(unreachable_body(name, fmt), name, routed.identity.account_name)
        return _plain(failed.body, extra), failed


async def _relay(
    legacy: LegacyClient,
    request: web.Request,
    sent: tuple[str, str, bytes, Mapping[str, str]],
    extra: Mapping[str, str],
    read_only: bool,
) -> web.StreamResponse:
    """Stream legacy's answer; a read sent on a connection legacy had already closed goes
    once more (a write never: it might have been applied)."""
    try:
        return await legacy.forward(request, *sent, extra)
    except LegacyUnavailableError as error:
        if not (error.stale_connection and read_only):
            raise
        return await legacy.forward(request, *sent, extra)


def _plain(body: render.Body, extra: Mapping[str, str]) -> web.Response:
    response = web.Response(status=body.status, text=body.text, content_type=None)
    response.headers["Content-Type"] = body.content_type
    response.headers.update(body.headers)
    response.headers.update(extra)
    return response


def _buffered(reply: LegacyReply, extra: Mapping[str, str]) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body)
    response.headers.clear()
    for key, value in reply.headers.items():
        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
            response.headers.add(key, value)
    response.headers.update(extra)
    return response


def as_legacy(
    state: ServerState, req: ApiRequest, session: SessionRow | None
) -> tuple[str, bytes, dict[str, str]]:
    """The request as legacy must see it: unchanged, except that a session of ours presents
    legacy's session instead (session calls are not signed, so this is safe)."""
    headers = forwarded_headers(req.headers, req.remote, req.scheme)
    mapped = session_bridge.legacy_pair(state, session)
    if mapped is None or not _holds_session_key(state, req, session):
        # Unchanged, legacy refuses a caller who did not present our key (the CSRF check).
        return req.raw_query, req.body, headers
    legacy_id, legacy_key = mapped
    if "Cookie" in headers:
        headers["Cookie"] = _cookie_with(headers["Cookie"], legacy_id, legacy_key)
    query = _param_replaced(req.raw_query, "sessionkey", legacy_key)
    body = req.body
    if body and headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        text = body.decode("latin-1")
        body = _param_replaced(text, "sessionkey", legacy_key).encode("latin-1")
    return query, body, headers


def _holds_session_key(state: ServerState, req: ApiRequest, session: SessionRow | None) -> bool:
    """Legacy's key stands in for ours only for a caller who presented ours where the
    configuration asks for it, exactly as dispatch checks it on the engine path."""
    if session is None:
        return False
    cookie_key = req.cookies.get("sessionkey")
    param_key = exact(req.pairs, "sessionkey")
    return sessions.key_check(session, state.config.sessionkey_locations, cookie_key, param_key)


def _cookie_with(header: str, session_id: str, key: str) -> str:
    parts = []
    for part in header.split(";"):
        name = part.strip().partition("=")[0]
        if name == "JSESSIONID":
            parts.append(f"JSESSIONID={session_id}")
        elif name == "sessionkey":
            parts.append(f"sessionkey={key}")
        elif part.strip():
            parts.append(part.strip())
    return "; ".join(parts)


def _param_replaced(raw: str, name: str, value: str) -> str:
    if not raw:
        return raw
    encoded = java_url_encode(value)
    out = [
        f"{name}={encoded}" if part.partition("=")[0] == name else part for part in raw.split("&")
    ]
    return "&".join(out)


async def after_engine(
    state: ServerState, req: ApiRequest, name: str | None, routed: Routed, outcome: Outcome
) -> Outcome:
    """Keep legacy in step with what the engine did: log in or out there too; offer a
    read-only call for shadow comparison."""
    lowered = (name or "").lower()
    if state.legacy is not None and lowered == "login" and outcome.body.status == 200:
        await session_bridge.login_legacy_too(state, req, outcome)
    elif state.legacy is not None and lowered == "logout" and outcome.body.status == 200:
        await session_bridge.logout_legacy_too(state, req, routed.identity.session)
    elif routed.decision.shadow and name:
        body = outcome.body.text.encode("utf-8")
        _offer(state, req, name, ENGINE, outcome.body.status, body, routed.decision)
    return outcome


def _offer(
    state: ServerState,
    req: ApiRequest,
    name: str,
    primary: Any,
    status: int,
    body: bytes,
    decision: Decision,
) -> None:
    sink = state.shadow
    if sink is None or not decision.shadow:
        return
    try:
        sink.offer(MirrorCall(req, name, primary, status, body, decision))
    except Exception as error:  # the mirror must never hurt the served call
        _LOG.warning("shadow offer failed for %s: %s", name, error)


async def _legacy_apis(
    state: ServerState, req: ApiRequest, identity: Identity
) -> tuple[Mapping[str, Any], ...]:
    """Legacy's listApis for the same caller (already filtered by its role there), as JSON;
    empty when legacy cannot say, so the engine's own list is still served."""
    legacy = state.legacy
    assert legacy is not None
    query = _json_query(state, req, identity)
    if query is None:
        return ()
    raw_query, cookie = query
    headers = forwarded_headers(req.headers, req.remote, req.scheme)
    headers.pop("Content-Type", None)
    headers.pop("Cookie", None)
    if cookie:
        headers["Cookie"] = cookie
    try:
        reply = await legacy.call("GET", raw_query, b"", headers)
        items = json.loads(reply.body)["listapisresponse"].get("api", [])
    except (LegacyUnavailableError, ValueError, KeyError, TypeError, AttributeError) as error:
        _LOG.warning("legacy listApis not merged: %s", error)
        return ()
    return tuple(item for item in items if isinstance(item, dict) and "name" in item)


def _json_query(
    state: ServerState, req: ApiRequest, identity: Identity
) -> tuple[str, str | None] | None:
    pairs = [(k, v) for k, v in req.pairs if k != "response" and k.lower() != "signature"]
    pairs.append(("response", "json"))
    mapped = session_bridge.legacy_pair(state, identity.session)
    if mapped is not None:
        legacy_id, legacy_key = mapped
        pairs = [(k, v) for k, v in pairs if k != "sessionkey"] + [("sessionkey", legacy_key)]
        return _encode(pairs), f"JSESSIONID={legacy_id}; sessionkey={legacy_key}"
    record = identity.record
    if identity.session is not None or record is None or not record.secret_key:
        return None
    try:
        secret = encryption.decrypt(record.secret_key, state.settings.encryption_key)
    except encryption.DecryptionError:
        return None
    pairs.append(("signature", sign(pairs, secret)))
    return _encode(pairs), None


def _encode(pairs: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{java_url_encode(k)}={java_url_encode(v)}" for k, v in pairs)
