"""The two backends as the shadow mirror replays calls on them: the engine in-process (the
same ApiRequest through dispatch, so the signature verifies again), legacy through its
client with the raw request byte for byte (a session of ours presenting legacy's session,
as a forwarded call does)."""

from __future__ import annotations

import dataclasses

from compat_api import dispatch, sessions, strangler
from compat_api.dispatch import ApiRequest, ServerState
from compat_api.ops.metrics_shadow import ShadowMetrics
from compat_api.routing import ENGINE, Backend, MirrorCall
from compat_api.shadow import ShadowMirror


def _replayed(request: ApiRequest) -> ApiRequest:
    # Its own request id, so log lines of the replay are not taken for the served call's.
    return dataclasses.replace(request, request_id=f"{request.request_id}.shadow")


class Backends:
    """Replays on either backend of one server process."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def replay(self, backend: Backend, call: MirrorCall) -> tuple[int, bytes]:
        request = _replayed(call.request)
        if backend == ENGINE:
            outcome = await dispatch.run(self.state, request, call.command)
            return outcome.body.status, outcome.body.text.encode("utf-8")
        return await self._legacy(request)

    async def _legacy(self, request: ApiRequest) -> tuple[int, bytes]:
        legacy = self.state.legacy
        if legacy is None:
            raise RuntimeError("no legacy server configured")
        state = self.state
        session_id = request.cookies.get("JSESSIONID")
        session = None
        if session_id:
            session = await sessions.find(state.db, session_id, state.session_cache)
        raw_query, body, headers = strangler.as_legacy(state, request, session)
        reply = await legacy.call(request.method, raw_query, body, headers)
        return reply.status, reply.body


async def start_mirror(state: ServerState, metrics: ShadowMetrics | None) -> ShadowMirror | None:
    """This process's mirror, set as state.shadow; None without a legacy server (there is
    no other backend to compare with)."""
    if state.legacy is None:
        return None
    mirror = ShadowMirror(state.db, Backends(state), state.settings.shadow, metrics)
    await mirror.start()
    state.shadow = mirror
    return mirror


async def stop_mirror(state: ServerState, mirror: ShadowMirror | None) -> None:
    """Before the legacy client closes: replays in flight finish, counts are flushed."""
    if mirror is not None:
        state.shadow = None
        await mirror.stop()
