"""listHypervisors: the hypervisor types a zone's clusters run."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result
from schema_bridge import configuration, hypervisor_types

HYPERVISOR = shapes.Shape("hypervisor", facts_for("listHypervisors").response_field_names, {})


async def list_hypervisors(ctx: CallContext, args: dict[str, Any]) -> Result:
    zone_id = args.get("zoneid")
    async with ctx.db.engine.connect() as conn:
        configured = (await configuration.values(conn, ["hypervisor.list"]))["hypervisor.list"]
        present = await hypervisor_types.in_use(conn, zone_id)
    listed = [name.strip() for name in (configured or "").split(",") if name.strip()]
    # CloudStack keeps the configured names that have a cluster in the zone; a database
    # without the setting offers the types its clusters run.
    if not listed:
        names = present
    elif zone_id:
        names = [name for name in listed if name in present]
    else:
        names = listed
    items = [HYPERVISOR.build({"name": name}) for name in names]
    return ListResult(items, len(items), HYPERVISOR.name)


COMMANDS: list[Command] = [
    declare(
        "listHypervisors",
        subsystem="infra",
        handler=list_hypervisors,
        summary="Hypervisor types: the configured list (with zoneid, those of it the zone's "
        "clusters run).",
    ),
]
