"""One API request from raw parameters to an envelope: authenticate, authorise, parse, run."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from compat_api import errors, logs, params, render, roles, routing, sessions
from compat_api.async_jobs import EngineHandle
from compat_api.auth import KeyCache, to_caller, verify_api_key
from compat_api.caller import Caller
from compat_api.config_cache import ServerConfig
from compat_api.context import CallContext
from compat_api.registry import Command, Registry
from compat_api.settings import Settings
from schema_bridge import db_errors, lookups
from schema_bridge.db import Database

if TYPE_CHECKING:
    from compat_api.legacy import LegacyClient
    from compat_api.routing import RouteWatcher, ShadowSink

_ATTEMPTS = 3


@dataclass
class ServerState:
    settings: Settings
    db: Database
    registry: Registry
    config: ServerConfig
    key_cache: KeyCache
    engine: EngineHandle | None = None
    # The strangler: live routes, the legacy upstream (None: everything runs here) and the
    # shadow comparator (None: no mirroring).
    routes: RouteWatcher | None = None
    legacy: LegacyClient | None = None
    shadow: ShadowSink | None = None
    # Browser sessions as last read (ttl 0: always read from the database).
    session_cache: sessions.SessionCache = field(default_factory=lambda: sessions.SessionCache(0))


@dataclass
class ApiRequest:
    method: str
    pairs: list[tuple[str, str]]
    cookies: dict[str, str]
    remote: str
    request_id: str
    # The request as received, for forwarding to legacy byte for byte.
    raw_query: str = ""
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    scheme: str = "http"


@dataclass
class Outcome:
    """What the access log and the HTTP layer need besides the body."""

    body: render.Body
    command: str | None = None
    account: str | None = None
    set_cookies: list[str] = field(default_factory=list)
    clear_cookies: list[str] = field(default_factory=list)


def exact(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """`command` and `response` are matched by exact, case-sensitive name."""
    found = None
    for key, value in pairs:
        if key == name:
            found = value
    return found


async def authenticate(state: ServerState, req: ApiRequest, command: Command | None) -> Caller:
    session_id = req.cookies.get("JSESSIONID")
    if session_id is not None:
        return await _session_caller(state, req, session_id, command)
    if exact(req.pairs, "command") is None or command is None:
        raise errors.signature_error("errorresponse")
    record = await verify_api_key(
        state.db, state.key_cache, state.config, req.pairs, state.settings.encryption_key
    )
    return to_caller(record)


async def _session_caller(
    state: ServerState, req: ApiRequest, session_id: str, command: Command | None
) -> Caller:
    root = command.response_name if command else "errorresponse"
    row = await sessions.find(state.db, session_id, state.session_cache)
    cookie_key = req.cookies.get("sessionkey")
    param_key = exact(req.pairs, "sessionkey")
    if row is None or not sessions.key_check(
        row, state.config.sessionkey_locations, cookie_key, param_key
    ):
        if row is not None:
            await sessions.destroy(state.db, session_id, state.session_cache)
        raise errors.session_error(root)
    record = await state.session_cache.user(state.db, row.user_id)
    if record is None or not record.enabled:
        await sessions.destroy(state.db, session_id, state.session_cache)
        raise errors.session_error(root)
    return to_caller(record)


async def authorise(
    state: ServerState, caller: Caller, name: str, command: Command | None
) -> Command:
    if command is None:
        if caller.is_root_admin:
            raise errors.unknown_command_admin(name)
        raise errors.unavailable_command(name, caller.user_uuid)
    rules = await state.config.role_rules(state.db, caller.role_id) if caller.role_id else ()
    if not roles.allowed(command.name, caller.role_id, caller.role_type, rules, command.roles):
        raise errors.unavailable_command(command.name, caller.user_uuid)
    return command


async def parse_args(
    state: ServerState, command: Command, pairs: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    params.check_printable(pairs)
    maps = params.map_params(pairs)
    args = params.parse(command.name, command.params, params.merged(pairs), maps)
    await _resolve_uuids(state.db, command.name, args)
    return args


async def _resolve_uuids(db: Database, command: str, args: dict[str, Any]) -> None:
    refs = {k: v for k, v in args.items() if isinstance(v, params.UuidRef) or _is_ref_list(v)}
    if not refs:
        return
    async with db.engine.connect() as conn:
        for key, value in refs.items():
            items = value if isinstance(value, list) else [value]
            ids = [await _resolve_one(conn, command, ref) for ref in items]
            args[key] = ids if isinstance(value, list) else ids[0]


def _is_ref_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], params.UuidRef)


async def _resolve_one(conn: Any, command: str, ref: params.UuidRef) -> Any:
    if ref.value == "-1":
        return -1
    if ref.entity is None or ref.entity not in lookups.ENTITY_TABLES:
        return ref.value
    found = await lookups.id_for(conn, ref.entity, ref.value)
    if found is None:
        raise errors.unknown_uuid(command, ref.param, ref.value)
    return found


async def run(
    state: ServerState,
    req: ApiRequest,
    name: str,
    legacy_apis: Sequence[Mapping[str, Any]] = (),
) -> Outcome:
    """Authenticate, authorise, parse and execute a non-authenticator command
    (`legacy_apis`: legacy's listApis entries for this caller, merged into ours)."""
    command = state.registry.get(name)
    fmt = render.response_format(exact(req.pairs, "response"))
    caller: Caller | None = None
    try:
        caller = await authenticate(state, req, command)
        command = await authorise(state, caller, name, command)
        args = await parse_args(state, command, req.pairs)
        ctx = CallContext(
            caller,
            state.db.read_only if routing.is_read_only(command.name) else state.db,
            command,
            state.registry,
            state.config,
            req.request_id,
            req.method,
            settings=state.settings,
            engine=state.engine,
            raw_params=dict(req.pairs),
            legacy_apis=tuple(legacy_apis),
        )
        result = await _execute(command, ctx, args)
    except errors.ApiError as error:
        return _error_outcome(state, error, command, caller, fmt, name)
    except Exception as exc:  # the catch-all that keeps tracebacks off the wire
        return _error_outcome(state, _internal(exc, name, caller), command, caller, fmt, name)
    body = render.render(
        command.response_name, render.inner(result), fmt, state.config.cloudstack_version
    )
    return Outcome(body, name, caller.account_name)


async def _execute(command: Command, ctx: CallContext, args: dict[str, Any]) -> render.Result:
    """Run the handler; a transaction that lost a write conflict (Galera 1213, lock wait) is
    retried, since it changed nothing; a lost connection mid-commit is reported, not retried."""
    for attempt in range(_ATTEMPTS):
        try:
            return await command.handler(ctx, args)
        except DBAPIError as error:
            if db_errors.is_retryable(error) and attempt + 1 < _ATTEMPTS:
                await asyncio.sleep(0.02 * (attempt + 1))
                continue
            if db_errors.is_unknown_outcome(error):
                raise errors.ApiError(
                    errors.INTERNAL_ERROR,
                    f"The database connection was lost while {command.name} was being saved; "
                    "it may or may not have been applied. Check the resource (or listAsyncJobs) "
                    "before retrying.",
                    errors.CS_CLOUD_RUNTIME,
                ) from error
            raise
    raise AssertionError("unreachable")


def _error_outcome(
    state: ServerState,
    error: errors.ApiError,
    command: Command | None,
    caller: Caller | None,
    fmt: str,
    name: str,
) -> Outcome:
    root = error.root or (command.response_name if command else "errorresponse")
    version = state.config.cloudstack_version if caller else None
    outcome = Outcome(render.render_error(root, error, fmt, version), name, _account(caller))
    if error.error_id:
        outcome.body.headers["X-Error-Id"] = error.error_id
    return outcome


def _internal(exc: Exception, name: str, caller: Caller | None) -> errors.ApiError:
    """CloudStack's 530 for an unexpected failure: one log line with an error id, the
    traceback only in the debug log; root admins are told the id, others the stock text."""
    error_id = logs.new_id()
    logs.error(error_id, f"unexpected failure in {name}: {exc}", exc)
    text = errors.INTERNAL_TEXT
    if caller is not None and caller.is_root_admin:
        text = (
            f"Internal error executing command {name} (error id {error_id}); see the stackshift log"
        )
    return errors.ApiError(errors.INTERNAL_ERROR, text, errors.CS_CLOUD_RUNTIME, error_id=error_id)


def _account(caller: Caller | None) -> str | None:
    return caller.account_name if caller else None
