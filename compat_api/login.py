"""The login and logout authenticators: sessions for browsers and CloudMonkey."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compat_api import errors, params, render, sessions
from compat_api.dispatch import ApiRequest, Outcome, ServerState, exact
from schema_bridge import accounts, passwords
from schema_bridge.accounts import UserRecord
from schema_bridge.passwords import PasswordFormat

POST_ONLY_TEXT = "Please use HTTP POST to authenticate using this API"
# Stored formats login accepts; a plain-text match is never enough.
LOGIN_FORMATS = (PasswordFormat.PBKDF2, PasswordFormat.SHA256SALT, PasswordFormat.MD5)


def _domain_path(raw: str | None) -> str:
    path = (raw or "/").strip()
    if not path.startswith("/"):
        path = "/" + path
    return path if path.endswith("/") else path + "/"


async def _domain_id(state: ServerState, raw: dict[str, str]) -> int:
    ref = raw.get("domainid")
    async with state.db.reader.connect() as conn:
        if ref:
            if not (ref.isdigit() or params.is_uuid(ref)):
                raise errors.ApiError(
                    errors.UNAUTHORIZED, "Invalid domain id entered, please enter a valid one"
                )
            found = await accounts.domain_id_by_ref(conn, ref)
            if found is None:
                raise errors.ApiError(
                    errors.UNAUTHORIZED, "Invalid domain id entered, please enter a valid one"
                )
            return found
        path = _domain_path(raw.get("domain"))
        found = await accounts.domain_id_by_path(conn, path)
    if found is None:
        raise errors.ApiError(
            errors.ACCOUNT_ERROR, f"Unable to find the domain from the path {path}", None
        )
    return found


def _tz_offset(name: str) -> str | None:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    hours = (offset.total_seconds() if offset else 0.0) / 3600
    return repr(float(hours))


def login_fields(record: UserRecord, key: str, timeout_s: int, ms_id: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "username": record.username,
        "userid": record.user_uuid,
        "domainid": record.domain_uuid,
        "timeout": timeout_s,
        "account": record.account_name,
        "firstname": record.firstname,
        "lastname": record.lastname,
        "type": str(record.account_type),
        # An empty user.timezone reads as UTC upstream (UserAccountVO.getTimezone), so a real
        # server always answers both; the 4.18+ UI cannot log in without them.
        "timezone": record.timezone or "UTC",
        "timezoneoffset": _tz_offset(record.timezone or "UTC"),
        "registered": "true" if record.is_registered else "false",
        "sessionkey": key,
        "is2faenabled": "false",
        "is2faverified": "true",
        "issuerfor2fa": "CloudStack",
    }
    if record.account_type == 1 and ms_id:
        fields["managementserverid"] = ms_id
    return {k: v for k, v in fields.items() if v is not None}


async def _authenticate(state: ServerState, raw: dict[str, str]) -> UserRecord:
    username, password = raw.get("username"), raw.get("password")
    if not username:
        raise errors.missing_param("login", "username")
    if not password:
        raise errors.missing_param("login", "password")
    domain_id = await _domain_id(state, raw)
    async with state.db.reader.connect() as conn:
        record = await accounts.user_for_login(conn, username, domain_id)
    failed = (
        f"Failed to authenticate user {username} in domain {domain_id}; "
        "please provide valid credentials"
    )
    if (
        record is None
        or not record.password
        or not passwords.verify_password(password, record.password, LOGIN_FORMATS)
    ):
        raise errors.ApiError(errors.ACCOUNT_ERROR, failed, None)
    if not record.enabled:
        text = (
            f"User {username} (or their account) in domain {domain_id} is disabled/locked. "
            "Please contact the administrator."
        )
        raise errors.ApiError(errors.ACCOUNT_ERROR, text, None)
    return record


def session_cookies(state: ServerState, new: sessions.NewSession) -> list[str]:
    config = state.config
    jsession = f"JSESSIONID={new.session_id}; Path=/client; HttpOnly"
    if config.secure_cookie:
        jsession += "; Secure"
    samesite = {
        "Lax": ";SameSite=Lax",
        "Strict": ";SameSite=Strict",
        "NoneAndSecure": ";SameSite=None;Secure",
    }
    key_cookie = f"sessionkey={new.session_key};HttpOnly" + samesite.get(config.samesite, "")
    return [jsession, key_cookie]


async def login(state: ServerState, req: ApiRequest) -> Outcome:
    fmt = render.response_format(exact(req.pairs, "response"))
    if req.method != "POST":
        content_type = render.JSON_TYPE if fmt == "json" else render.XML_TYPE
        return Outcome(render.Body(405, content_type, POST_ONLY_TEXT), "login")
    raw = params.merged(req.pairs)
    try:
        record = await _authenticate(state, raw)
    except errors.ApiError as error:
        return Outcome(
            render.render_error("loginresponse", error, fmt, None), "login", raw.get("username")
        )
    old = req.cookies.get("JSESSIONID")
    if old:
        await sessions.destroy(state.db, old, state.session_cache)
    new = await sessions.create(
        state.db, record.user_id, state.config.session_timeout_s, state.session_cache
    )
    state.session_cache.keep_user(record)
    if record.role_id:  # every call of this session checks them; read them now, not then
        await state.config.role_rules(state.db, record.role_id)
    fields = login_fields(
        record, new.session_key, state.config.session_timeout_s, state.settings.management_server_id
    )
    body = render.render("loginresponse", fields, fmt, None)
    return Outcome(body, "login", record.account_name, set_cookies=session_cookies(state, new))


async def logout(state: ServerState, req: ApiRequest) -> Outcome:
    fmt = render.response_format(exact(req.pairs, "response"))
    session_id = req.cookies.get("JSESSIONID")
    row = await sessions.find(state.db, session_id, state.session_cache) if session_id else None
    if session_id is None or row is None:
        error = errors.ApiError(errors.PARAM_ERROR, "Session not found for the logout process.")
        return Outcome(render.render_error("logoutresponse", error, fmt, None), "logout")
    await sessions.destroy(state.db, session_id, state.session_cache)
    body = render.render("logoutresponse", {"description": "success"}, fmt, None)
    return Outcome(body, "logout", clear_cookies=sorted(req.cookies))
