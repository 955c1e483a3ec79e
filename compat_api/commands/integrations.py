"""What the UI asks at login about optional integrations: LDAP servers and the Cloudian
connector. Both read their configuration from the legacy database."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.listing import page_of
from compat_api.registry import Command, declare
from compat_api.render import ListResult, ObjectResult, Result
from schema_bridge import configuration, ldap

LDAP_SHAPE = shapes.Shape(
    "LdapConfiguration", facts_for("listLdapConfigurations").response_field_names, {}
)
CLOUDIAN_SHAPE = shapes.Shape(
    "cloudianisenabled", facts_for("cloudianIsEnabled").response_field_names, {}
)
_CLOUDIAN = (
    "cloudian.connector.enabled",
    "cloudian.cmc.protocol",
    "cloudian.cmc.host",
    "cloudian.cmc.port",
)


def _ldap(row: Any) -> dict[str, Any]:
    return LDAP_SHAPE.build(
        {"id": str(row.id), "hostname": row.hostname, "port": row.port, "domainid": row.domain_uuid}
    )


async def list_ldap_configurations(ctx: CallContext, args: dict[str, Any]) -> Result:
    paging = page_of(ctx, args)
    f = ldap.LdapFilter(
        hostname=args.get("hostname"),
        # The command's port is a Java int: 0 (its default) filters nothing.
        port=args.get("port") or None,
        keyword=args.get("keyword"),
        domain_id=args.get("domainid"),
        every_domain=bool(args.get("listall")) and args.get("domainid") is None,
    )
    async with ctx.db.engine.connect() as conn:
        page = await ldap.configurations(conn, f, paging.offset, paging.limit)
    return ListResult([_ldap(row) for row in page.rows], page.total, LDAP_SHAPE.name)


async def cloudian_is_enabled(ctx: CallContext, args: dict[str, Any]) -> Result:
    async with ctx.db.engine.connect() as conn:
        values = await configuration.values(conn, _CLOUDIAN)
    enabled = (values["cloudian.connector.enabled"] or "false").lower() == "true"
    url = None
    if enabled:
        protocol = values["cloudian.cmc.protocol"] or "https"
        host = values["cloudian.cmc.host"] or ""
        port = values["cloudian.cmc.port"] or "8443"
        url = f"{protocol}://{host}:{port}/Cloudian/"
    return ObjectResult(CLOUDIAN_SHAPE.build({"enabled": enabled, "url": url}), "cloudianisenabled")


COMMANDS: list[Command] = [
    declare(
        "listLdapConfigurations",
        subsystem="infra",
        handler=list_ldap_configurations,
        summary="LDAP servers configured globally (or for one domain, or all with listall); "
        "the UI offers LDAP features only when there is one.",
    ),
    declare(
        "cloudianIsEnabled",
        subsystem="infra",
        handler=cloudian_is_enabled,
        summary="Whether the Cloudian connector is enabled, and its console URL when it is.",
    ),
]
