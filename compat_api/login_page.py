"""What the UI's login page asks before anyone is logged in: the OAuth providers to offer.

`listOauthProvider` is an authenticator command in CloudStack, answered without a session or
a signature. Only enabled providers are listed, and only while the OAuth 2 plugin is enabled
(`oauth2.enabled`); never their secret keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from compat_api import render, shapes
from compat_api.dispatch import ApiRequest, Outcome, ServerState, exact
from compat_api.facts import facts_for
from schema_bridge import configuration
from schema_bridge.tables import table

OAUTH_PROVIDER = shapes.Shape(
    "oauthprovider", facts_for("listOauthProvider").response_field_names, {}
)
oauth_provider = table("oauth_provider")


async def _providers(state: ServerState, raw: dict[str, str]) -> list[dict[str, Any]]:
    p = oauth_provider.c
    query = select(oauth_provider).where(p.removed.is_(None), p.enabled.is_(True)).order_by(p.id)
    if raw.get("provider"):
        query = query.where(p.provider == raw["provider"])
    if raw.get("id"):
        query = query.where(p.uuid == raw["id"])
    async with state.db.engine.connect() as conn:
        enabled = (await configuration.values(conn, ["oauth2.enabled"]))["oauth2.enabled"]
        if (enabled or "false").lower() != "true":
            return []
        rows = (await conn.execute(query)).all()
    return [
        OAUTH_PROVIDER.build(
            {
                "id": row.uuid,
                "provider": row.provider,
                "name": row.provider,
                "description": row.description,
                "clientid": row.client_id,
                "redirecturi": row.redirect_uri,
                "enabled": bool(row.enabled),
            }
        )
        for row in rows
    ]


async def list_oauth_providers(state: ServerState, req: ApiRequest) -> Outcome:
    fmt = render.response_format(exact(req.pairs, "response"))
    raw = {key.lower(): value for key, value in req.pairs}
    items = await _providers(state, raw)
    result = render.ListResult(items, len(items), OAUTH_PROVIDER.name)
    body = render.render("listoauthproviderresponse", render.inner(result), fmt, None)
    return Outcome(body, "listOauthProvider")
