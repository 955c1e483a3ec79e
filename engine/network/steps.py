"""Steps of public IP lifecycles. The address itself is claimed when the API accepts
associateIpAddress (its {id, jobid} answer names it), so the job associates it with a
network and, on failure, gives the claim back."""

from __future__ import annotations

from engine.lifecycle import StepContext, StepFailedError
from schema_bridge import public_ips
from schema_bridge.public_ips import IpRow


async def _ip(ctx: StepContext) -> IpRow:
    async with ctx.db.engine.connect() as conn:
        found = await public_ips.ip_by_id(conn, ctx.resource_id)
    if found is None or found.removed is not None:
        raise StepFailedError(431, f"public IP address id {ctx.resource_id} no longer exists")
    return found


async def keep_claim(ctx: StepContext) -> None:
    """Nothing to do: the claim committed with the job. Its undo gives the address back."""


async def give_claim_back(ctx: StepContext) -> None:
    ip = await _ip(ctx)
    async with ctx.db.engine.begin() as conn:
        await public_ips.release(conn, ip, "Allocating", int(ctx.args["account_id"]))


async def associate_network(ctx: StepContext) -> None:
    network_id = ctx.args.get("network_id")
    if network_id is None:
        return
    async with ctx.db.engine.begin() as conn:
        await public_ips.associate(conn, ctx.resource_id, int(network_id))


async def release_address(ctx: StepContext) -> None:
    """Owner, network and allocation cleared, count and capacity given back, NET.IPRELEASE
    recorded, all at once; a repeat finds the address no longer owned and changes nothing."""
    ip = await _ip(ctx)
    async with ctx.db.engine.begin() as conn:
        await public_ips.release(conn, ip, "Releasing", int(ctx.args["account_id"]))
