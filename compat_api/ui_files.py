"""The web UI at `/client/`, next to the API at `/client/api`: an operator's UI build served
from a directory, or, with a legacy server and no directory, legacy's own UI passed through.

Only regular files inside the build directory are served: no directory listings, and a path
that resolves (through `..` or a symbolic link) outside the directory is answered 404, as if
it did not exist.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from yarl import URL

from compat_api.legacy import LegacyClient, LegacyUnavailableError, forwarded_headers

UI_PREFIX = "/client"
INDEX = "index.html"
# Types a UI build ships that Python's table lacks or names differently on some systems.
_TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".map": "application/json",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".ico": "image/x-icon",
}


def check_dir(path: str) -> Path:
    """The build directory, resolved; a clear error when it cannot be a UI build."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(f"UI directory {path} does not exist or is not a directory")
    if not (root / INDEX).is_file():
        raise ValueError(f"UI directory {path} has no {INDEX}; point --ui-dir at a UI build")
    return root


def resolve(root: Path, tail: str) -> Path | None:
    """The file `tail` names under `root`, or None when it is not a servable file there."""
    relative = tail.lstrip("/")
    if "\x00" in relative or "\\" in relative:
        return None
    candidate = (root / relative).resolve() if relative else root
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_dir():
        candidate = candidate / INDEX
        if not candidate.is_file():
            return None
    return candidate if candidate.is_file() else None


def content_type(path: Path) -> str:
    known = _TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def handler(root: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve_file(request: web.Request) -> web.StreamResponse:
        found = resolve(root, request.match_info.get("tail", ""))
        if found is None:
            raise web.HTTPNotFound()
        response = web.FileResponse(found)
        response.content_type = content_type(found)
        if found.name == INDEX:
            # index.html names the hashed bundles of this build; a cached copy would load
            # the previous build's bundles after an upgrade.
            response.headers["Cache-Control"] = "no-cache"
        return response

    return serve_file


async def _to_slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{UI_PREFIX}/")


async def _to_ui(request: web.Request) -> web.StreamResponse:
    # The management server sends its root to the web application, permanently.
    raise web.HTTPMovedPermanently(UI_PREFIX)


def add_routes(app: web.Application, root: Path) -> None:
    """Register after the API routes: `/client/api` keeps matching its own handler."""
    serve_file = handler(root)
    app.router.add_get("/", _to_ui)
    app.router.add_get(UI_PREFIX, _to_slash)
    app.router.add_get(UI_PREFIX + "/{tail:.*}", serve_file)


def legacy_page(legacy: LegacyClient, raw_path: str, raw_query: str) -> URL:
    """The same path and query on legacy's host: its UI lives beside its API."""
    origin = str(URL(legacy.url).origin())
    return URL(f"{origin}{raw_path}" + (f"?{raw_query}" if raw_query else ""), encoded=True)


def add_legacy_routes(
    app: web.Application, legacy_of: Callable[[web.Application], LegacyClient | None]
) -> None:
    """Everything under /client/ that is not the API goes to legacy unchanged."""

    async def passthrough(request: web.Request) -> web.StreamResponse:
        legacy = legacy_of(request.app)
        if legacy is None:
            raise web.HTTPNotFound()
        url = request.rel_url
        target = legacy_page(legacy, url.raw_path, url.raw_query_string)
        headers = forwarded_headers(request.headers, request.remote or "", request.scheme)
        try:
            return await legacy.forward(request, request.method, "", b"", headers, {}, target)
        except LegacyUnavailableError as error:
            text = f"The legacy web UI could not be reached: {error}"
            raise web.HTTPBadGateway(text=text) from error

    app.router.add_get("/", _to_ui)
    app.router.add_get(UI_PREFIX, passthrough)
    app.router.add_get(UI_PREFIX + "/{tail:.*}", passthrough)
