"""The legacy management server as an upstream: forward a request unchanged, stream the answer.

The query string and form body go out byte for byte, so a client's signature still
verifies at legacy; the answer's status, headers (hop-by-hop ones aside) and body come back
as legacy sent them. One pooled client session per process. When legacy cannot be reached
in time the caller gets CloudStack's 530 envelope and the log gets one line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from compat_api import errors, render

# Request headers legacy needs to answer as it would directly; everything else (Host,
# Content-Length, hop-by-hop) is the client library's business.
FORWARDED_HEADERS = (
    "Content-Type",
    "Cookie",
    "User-Agent",
    "Accept",
    "Accept-Language",
    "Accept-Encoding",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
UNREACHABLE_TEXT = "The legacy management server could not be reached; please try again later"
_CHUNK = 64 * 1024
# Answers up to this size (with a Content-Length) are relayed whole; larger ones stream.
SMALL_BODY = 256 * 1024
_LOG = logging.getLogger("stackshift.legacy")


class LegacyUnavailableError(Exception):
    """Legacy did not answer (refused, reset, DNS, timeout); the message is one line."""

    @property
    def stale_connection(self) -> bool:
        """A pooled connection legacy had already closed: the request never reached it
        intact, so a read-only call may be sent again."""
        return isinstance(self.__cause__, aiohttp.ServerDisconnectedError)


@dataclass(frozen=True)
class LegacyReply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


def forwarded_headers(headers: Mapping[str, str], remote: str, scheme: str) -> dict[str, str]:
    """The client's headers worth forwarding, plus who the client was."""
    out = {name: headers[name] for name in FORWARDED_HEADERS[:6] if name in headers}
    chain = headers.get("X-Forwarded-For")
    if remote:
        out["X-Forwarded-For"] = f"{chain}, {remote}" if chain else remote
    elif chain:
        out["X-Forwarded-For"] = chain
    out["X-Forwarded-Proto"] = headers.get("X-Forwarded-Proto") or scheme
    # Without this, the client library would ask for gzip the caller never asked for.
    out.setdefault("Accept-Encoding", "identity")
    return out


def unreachable_body(command: str | None, fmt: str) -> render.Body:
    error = errors.ApiError(errors.INTERNAL_ERROR, UNREACHABLE_TEXT, errors.CS_CLOUD_RUNTIME)
    root = f"{command.lower()}response" if command else "errorresponse"
    return render.render_error(root, error, fmt, None)


class LegacyClient:
    """One per process: a pooled HTTP session to the legacy API URL."""

    def __init__(self, url: str, timeout: float, connect_timeout: float = 5.0) -> None:
        self.url = url
        self._base = str(URL(url).with_query(None).with_fragment(None))
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(connect_timeout, timeout))
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # Idle connections are dropped well before legacy's own keep-alive (20-30 s) would
        # close them under us.
        connector = aiohttp.TCPConnector(
            limit=256, ttl_dns_cache=60, keepalive_timeout=10, enable_cleanup_closed=True
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=False,  # bodies pass through as sent, Content-Encoding and all
            cookie_jar=aiohttp.DummyCookieJar(),  # each caller's cookies are its own
            skip_auto_headers=("User-Agent", "Content-Type", "Accept-Encoding"),
        )
        # aiohttp re-sends a GET once when a pooled connection turns out closed; CloudStack
        # GETs may mutate, so the caller (strangler.forward) decides: reads only.
        self._session._retry_connection = False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def target(self, raw_query: str) -> URL:
        """Legacy's URL with this exact, already-encoded query string."""
        base = self._base
        return URL(f"{base}?{raw_query}" if raw_query else base, encoded=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise LegacyUnavailableError("the legacy client is not started")
        return self._session

    async def call(
        self,
        method: str,
        raw_query: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float | None = None,
    ) -> LegacyReply:
        """The whole answer in memory: for logins, listApis and shadow calls; `timeout`
        shortens the configured one for calls made on the side of another."""
        # None would mean "no limit" to aiohttp: the session's own limit applies then.
        limit = aiohttp.ClientTimeout(total=timeout) if timeout is not None else self._timeout
        try:
            async with self._client().request(
                method,
                self.target(raw_query),
                data=body if method == "POST" else None,
                headers=dict(headers),
                allow_redirects=False,
                timeout=limit,
            ) as response:
                return LegacyReply(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise LegacyUnavailableError(_describe(error)) from error

    async def forward(
        self,
        request: web.Request,
        method: str,
        raw_query: str,
        body: bytes,
        headers: Mapping[str, str],
        extra: Mapping[str, str],
        target: URL | None = None,
    ) -> web.StreamResponse:
        """Stream legacy's answer to `request`; `extra` headers (request id, backend) are set
        before anything is sent. LegacyUnavailableError when legacy never answered. `target`
        replaces the API URL (the UI's pages live beside it)."""
        try:
            upstream = await self._client().request(
                method,
                target or self.target(raw_query),
                data=body if method == "POST" else None,
                headers=dict(headers),
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise LegacyUnavailableError(_describe(error)) from error
        if _small(upstream):
            return await _whole(upstream, extra)
        try:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            _copy_headers(upstream.headers, response.headers)
            response.headers.update(extra)
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(_CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
        except (aiohttp.ClientError, TimeoutError, asyncio.IncompleteReadError) as error:
            # Headers are out: the only honest thing left is to cut the connection.
            _LOG.warning("legacy answer cut short: %s", _describe(error))
            if request.transport is not None:
                request.transport.close()
            return response
        finally:
            upstream.release()


async def _whole(upstream: aiohttp.ClientResponse, extra: Mapping[str, str]) -> web.Response:
    """A small answer in one write instead of headers, chunks and an end marker."""
    try:
        body = await upstream.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise LegacyUnavailableError(_describe(error)) from error
    finally:
        upstream.release()
    response = web.Response(status=upstream.status, reason=upstream.reason, body=body)
    response.headers.clear()
    _copy_headers(upstream.headers, response.headers, skip_length=True)
    response.headers.update(extra)
    return response


def _small(upstream: aiohttp.ClientResponse) -> bool:
    length = upstream.content_length
    return length is not None and length <= SMALL_BODY


def _copy_headers(
    source: CIMultiDictProxy[str], target: CIMultiDict[str], skip_length: bool = False
) -> None:
    for name, value in source.items():
        lower = name.lower()
        if lower not in HOP_BY_HOP and not (skip_length and lower == "content-length"):
            target.add(name, value)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error) or type(error).__name__
    return " ".join(text.split())
