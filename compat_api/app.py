"""The aiohttp application: `/client/api` (with or without a trailing slash), GET and POST."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web

from compat_api import errors, job_results, logs, ops, render, shadow_upstream, strangler, ui_files
from compat_api.async_jobs import EngineHandle
from compat_api.auth import KeyCache
from compat_api.commands import build_registry
from compat_api.config_cache import ServerConfig
from compat_api.dispatch import ApiRequest, Outcome, ServerState, exact, run
from compat_api.legacy import LegacyClient
from compat_api.login import login, logout
from compat_api.login_page import list_oauth_providers
from compat_api.ops.runtime import OPS
from compat_api.read_cache import ReadCache
from compat_api.registry import Registry
from compat_api.routing import RouteWatcher
from compat_api.sessions import SessionCache
from compat_api.settings import Settings
from compat_api.zone_snapshot import ZoneSnapshot
from engine.hosts import HostDrivers
from engine.hypervisor.registry import DriverRegistry, HypervisorSettings
from engine.jobs.runner import JobRunner, RunnerSettings
from engine.processes import all_processes
from schema_bridge.db import Database, open_database
from schema_bridge.instances import new_msid
from schema_bridge.version import check_schema

STATE: web.AppKey[ServerState] = web.AppKey("state", ServerState)
REQUEST_ID = web.RequestKey("request_id", str)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
OUTCOME = web.RequestKey("outcome", Outcome)
BACKEND = web.RequestKey("backend", str)
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-XSS-Protection": "1;mode=block"}
_AUTHENTICATORS: dict[str, Callable[[ServerState, ApiRequest], Awaitable[Outcome]]] = {
    "login": login,
    "logout": logout,
    "listoauthprovider": list_oauth_providers,
}


def _pairs(raw_query: str, body: bytes, content_type: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(raw_query, keep_blank_values=True, encoding="utf-8", errors="replace")
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        text = body.decode("utf-8", "replace")
        pairs += parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    return pairs


async def api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    request_id = request[REQUEST_ID]
    body = await request.read() if request.method == "POST" else b""
    req = ApiRequest(
        method=request.method,
        pairs=_pairs(request.rel_url.raw_query_string, body, request.content_type),
        cookies=dict(request.cookies),
        remote=request.remote or "",
        request_id=request_id,
        raw_query=request.rel_url.raw_query_string,
        body=body,
        headers=request.headers,
        scheme=request.scheme,
    )
    name = exact(req.pairs, "command")
    routed = await strangler.route(state, req, name or "")
    request[BACKEND] = routed.backend
    if routed.backend == "legacy":
        response, forwarded = await strangler.forward(state, request, req, name, routed)
        request[OUTCOME] = forwarded
        return response
    authenticator = _AUTHENTICATORS.get(name.lower()) if name else None
    outcome = await (
        authenticator(state, req)
        if authenticator
        else run(state, req, name or "", routed.legacy_apis)
    )
    request[OUTCOME] = await strangler.after_engine(state, req, name, routed, outcome)
    return _response(outcome)


def _response(outcome: Outcome) -> web.Response:
    body = outcome.body
    response = web.Response(status=body.status, text=body.text, content_type=None)
    response.headers["Content-Type"] = body.content_type
    response.headers.update(_SECURITY_HEADERS)
    response.headers.update(body.headers)
    for cookie in outcome.set_cookies:
        response.headers.add("Set-Cookie", cookie)
    for name in outcome.clear_cookies:
        response.headers.add("Set-Cookie", _expired(name))
    return response


def _expired(name: str) -> str:
    """Logout echoes each cookie the client sent, emptied and expired, as the servlet does.
    Without a Path the browser applies the request's default path, where the sessionkey
    cookie (set without one at login) lives; JSESSIONID lives at /client."""
    path = "; Path=/client" if name == "JSESSIONID" else ""
    return f"{name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0{path}"


@web.middleware
async def request_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Request id in and out, one access line, and no traceback ever sent to a client."""
    given = request.headers.get("X-Request-Id", "")
    # A caller's id is kept only when it is short and plain, so it cannot forge log lines.
    request_id = given if _REQUEST_ID.fullmatch(given) else logs.new_id()
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        response = _internal_error(request, exc)
    backend = request.get(BACKEND, "engine")
    if not response.prepared:  # a streamed legacy answer carries both already
        response.headers["X-Request-Id"] = request_id
        if request.path.startswith("/client/api"):
            response.headers[strangler.BACKEND_HEADER] = backend
    if ops.is_probe(request.path):
        return response
    outcome: Outcome | None = request.get(OUTCOME)
    seconds = time.perf_counter() - started
    command = outcome.command if outcome else None
    logs.access(
        request_id=request_id,
        method=request.method,
        command=command,
        account=outcome.account if outcome else None,
        backend=backend,
        status=response.status,
        ms=round(seconds * 1000, 1),
        **ops.error_fields(response),
    )
    ops.observe(request, command, backend, response.status, seconds)
    return response


def _internal_error(request: web.Request, exc: Exception) -> web.Response:
    error_id = logs.new_id()
    logs.error(error_id, f"unexpected failure serving {request.path}: {exc}", exc)
    text = f"{errors.INTERNAL_TEXT} (error id {error_id})"
    error = errors.ApiError(errors.INTERNAL_ERROR, text, errors.CS_CLOUD_RUNTIME)
    fmt = render.response_format(request.query.get("response"))
    name = request.query.get("command")
    outcome = Outcome(
        render.render_error(
            f"{name.lower()}response" if name else "errorresponse", error, fmt, None
        )
    )
    outcome.body.headers["X-Error-Id"] = error_id
    request[OUTCOME] = outcome
    return _response(outcome)


async def build_state(
    settings: Settings, db: Database, registry: Registry | None = None
) -> ServerState:
    async with db.engine.connect() as conn:
        version = await check_schema(conn)
    config = ServerConfig(
        cloudstack_version=version,
        refresh_seconds=settings.config_refresh_seconds,
        infra_reads=ReadCache(settings.auth_cache_seconds),
        zones=ZoneSnapshot(settings.config_refresh_seconds),
    )
    await config.refresh(db)
    state = ServerState(
        settings, db, registry or build_registry(), config, KeyCache(settings.auth_cache_seconds)
    )
    state.session_cache = SessionCache(settings.auth_cache_seconds)
    return state


def start_engine(settings: Settings, db: Database) -> JobRunner:
    """This process's job runner, with drivers for the hosts' hypervisors."""
    drivers = DriverRegistry(HypervisorSettings(libvirt_uri_template=settings.libvirt_uri_template))
    runner_settings = RunnerSettings(
        concurrency=settings.engine_workers,
        heartbeat_seconds=settings.job_heartbeat_seconds,
        dead_after_seconds=settings.job_dead_after_seconds,
    )
    return JobRunner(
        db,
        new_msid(),
        all_processes(),
        job_results.build,
        HostDrivers(db, drivers, settings.simulator_delays),
        runner_settings,
    )


async def _start_strangler(settings: Settings, state: ServerState) -> None:
    """The legacy upstream (when configured) and this process's route watcher."""
    if settings.legacy_url:
        state.legacy = LegacyClient(settings.legacy_url, settings.legacy_timeout_seconds)
        await state.legacy.start()
    state.routes = RouteWatcher(state.db, legacy=state.legacy is not None)
    await state.routes.start()


async def _stop_strangler(state: ServerState) -> None:
    if state.routes is not None:
        await state.routes.stop()
    if state.legacy is not None:
        await state.legacy.close()


def create_app(
    settings: Settings, db: Database | None = None, registry: Registry | None = None
) -> web.Application:
    """The application; with no `db` given it opens (and later closes) its own."""
    app = web.Application(middlewares=[request_log], client_max_size=1024 * 1024)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        own = db is None
        database = await open_database(settings.db_url) if db is None else db
        state = await build_state(settings, database, registry)
        app[STATE] = state
        await state.config.zones.start(database)
        runner = start_engine(settings, database) if settings.engine_enabled else None
        if runner is not None:
            await runner.start()
            state.engine = EngineHandle(runner.msid, runner.wake)
        await _start_strangler(settings, state)
        mirror = await shadow_upstream.start_mirror(state, app[OPS].metrics.shadow)
        yield
        await shadow_upstream.stop_mirror(state, mirror)
        await _stop_strangler(state)
        await state.config.zones.stop()
        if runner is not None:
            await runner.stop(settings.drain_seconds)
        if own:
            await database.engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    ops.setup(app, settings, STATE)
    for path in ("/client/api", "/client/api/"):
        app.router.add_route("GET", path, api)
        app.router.add_route("POST", path, api)
    if settings.ui_dir:
        ui_files.add_routes(app, ui_files.check_dir(settings.ui_dir))
    elif settings.legacy_url:
        ui_files.add_legacy_routes(app, lambda running: running[STATE].legacy)
    return app
