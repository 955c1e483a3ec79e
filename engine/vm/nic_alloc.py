"""Deploy step: one NIC per requested network, with an address and a MAC from its range."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.lifecycle import StepContext, StepFailedError
from engine.vm.step_state import once
from schema_bridge import guest_nics
from schema_bridge.dialect import utc_now

INSUFFICIENT_CAPACITY = 533
NICS_KEY = "nics"
RELEASED_KEY = "nics_released"


def _no_address(network_id: int, wanted: str | None) -> StepFailedError:
    # CloudStack's InsufficientAddressCapacityException text, with the detail it only logs.
    detail = f": requested ip {wanted} is not available" if wanted else ": no free address left"
    return StepFailedError(
        INSUFFICIENT_CAPACITY, f"Insufficient address capacity (network id={network_id}{detail})"
    )


async def allocate_nics(ctx: StepContext) -> None:
    """Claim an address on each network (the requested one on the first) and write the NICs;
    all or nothing, in one transaction."""
    network_ids = [int(n) for n in ctx.args.get("networks", [])]
    wanted = ctx.args.get("ipaddress")
    owner = (ctx.job.account_id, int(ctx.state.get("domain_id", 1)))

    async def claim(conn: AsyncConnection) -> list[dict[str, object]]:
        now = utc_now()
        made: list[dict[str, object]] = []
        for device, network_id in enumerate(network_ids):
            ip = wanted if device == 0 else None
            address = await guest_nics.claim_address(conn, network_id, owner, ip, now)
            if address is None:
                raise _no_address(network_id, ip)
            nic = guest_nics.NewNic(ctx.resource_id, network_id, device, device == 0, address)
            nic_id = await guest_nics.insert_nic(conn, nic, now)
            made.append({"id": nic_id, "ip": address.address, "mac": address.mac})
        return made

    await once(ctx, NICS_KEY, claim)


async def release_nics(ctx: StepContext) -> None:
    """Undo of allocate_nics: addresses back to Free, NICs removed (whatever exists)."""

    async def release(conn: AsyncConnection) -> int:
        return await guest_nics.release_nics(conn, ctx.resource_id, utc_now())

    await once(ctx, RELEASED_KEY, release)
