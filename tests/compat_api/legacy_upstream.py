"""Test upstreams standing in for the legacy management server.

`Replay` is a real HTTP server answering with recorded CloudStack bodies (inline bytes
below, in the shape the real server sends) and remembering exactly what it was sent.
"""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field

from aiohttp import web

ZONES_JSON = (
    b'{"listzonesresponse":{"count":1,"zone":[{"id":"b1f3c0de-0000-4000-8000-000000000001",'
    b'"name":"legacy-zone","networktype":"Advanced","allocationstate":"Enabled",'
    b'"securitygroupsenabled":false}]}}'
)
ZONES_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><listzonesresponse cloud-stack-version="4.22.0.0">'
    b"<count>1</count><zone><id>b1f3c0de-0000-4000-8000-000000000001</id>"
    b"<name>legacy-zone</name></zone></listzonesresponse>"
)
ERROR_JSON = (
    b'{"addbrocadevcsdeviceresponse":{"uuidList":[],"errorcode":431,"cserrorcode":4350,'
    b'"errortext":"Unable to execute API command addbrocadevcsdevice due to missing parameter name"}}'
)
ERROR_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><addbrocadevcsdeviceresponse cloud-stack-version="4.22.0.0">'
    b"<errorcode>431</errorcode><cserrorcode>4350</cserrorcode><errortext>Unable to execute "
    b"API command addbrocadevcsdevice due to missing parameter name</errortext></addbrocadevcsdeviceresponse>"
)
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Replay:
    seen: list[Seen] = field(default_factory=list)
    # Hang up on the next call without answering, as a server closing an idle connection.
    drop_next: bool = False
    # Seconds every answer is held back, as an overloaded legacy server.
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop_next:
            self.drop_next = False
            self.seen.append(Seen(request.method, request.path, "dropped", b"", {}))
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                request.rel_url.raw_query_string,
                body,
                dict(request.headers),
            )
        )
        xml = "response=json" not in request.rel_url.raw_query_string + body.decode()
        command = request.query.get("command") or ""
        if command == "addBrocadeVcsDevice":
            text = ERROR_XML if xml else ERROR_JSON
            response = web.Response(status=431, body=text)
            response.headers["Content-Type"] = XML_TYPE if xml else JSON_TYPE
            response.headers["X-Description"] = "missing parameter name"
            return response
        if command == "listTemplates":  # big, and without a Content-Length: streamed
            big = web.StreamResponse(status=200)
            big.headers["Content-Type"] = JSON_TYPE
            await big.prepare(request)
            for chunk in big_body_chunks():
                await big.write(chunk)
            await big.write_eof()
            return big
        if command == "slowCommand":
            await asyncio.sleep(5)
        response = web.Response(status=200, body=ZONES_XML if xml else ZONES_JSON)
        response.headers["Content-Type"] = XML_TYPE if xml else JSON_TYPE
        response.headers.add("Set-Cookie", "JSESSIONID=LEGACY1; Path=/client; HttpOnly")
        response.headers.add("Set-Cookie", "sessionkey=LEGACYKEY; HttpOnly")
        response.headers["X-Upstream"] = "replay"
        if request.headers.get("Accept-Encoding", "") == "gzip":
            response.body = gzip.compress(response.body)  # type: ignore[arg-type]
            response.headers["Content-Encoding"] = "gzip"
        return response

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/client/api", self.handle)
        return app


def big_body_chunks() -> list[bytes]:
    """About 1.5 MiB of listTemplates JSON in uneven pieces."""
    items = b",".join(b'{"id":"%08d","name":"template-%d"}' % (n, n) for n in range(40_000))
    whole = b'{"listtemplatesresponse":{"count":40000,"template":[' + items + b"]}}"
    return [whole[i : i + 70_001] for i in range(0, len(whole), 70_001)]
