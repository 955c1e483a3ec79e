"""The VM a management command acts on: found, checked against the caller, presented, and
its synchronous action events and scoped settings read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner
from compat_api.caller import Caller
from compat_api.context import CallContext
from compat_api.render import jsonable
from compat_api.responses import vm as vm_response
from schema_bridge import configuration, events, resource_counts, vm_accounting, vm_teardown, vms
from schema_bridge.dialect import utc_now
from schema_bridge.tables import account_details, data_center_details
from schema_bridge.vm_teardown import VmFacts


def limit_error(exceeded: resource_counts.LimitExceededError) -> errors.ApiError:
    """ResourceAllocationException, as the dispatcher answers it."""
    return errors.ApiError(
        errors.RESOURCE_ALLOCATION_ERROR, str(exceeded), errors.CS_RESOURCE_ALLOCATION
    )


async def within_limits(conn: AsyncConnection, account_id: int, deltas: dict[str, int]) -> None:
    """Refuse (535) a growth the owner's limits do not allow, changing nothing: the counts are
    moved in a savepoint that is always rolled back (the job moves them for real)."""
    trial = await conn.begin_nested()
    try:
        await vm_accounting.count(conn, account_id, {k: v for k, v in deltas.items() if v > 0})
    except resource_counts.LimitExceededError as exceeded:
        raise limit_error(exceeded) from exceeded
    finally:
        await trial.rollback()


def owner_of(vm: VmFacts) -> Owner:
    return Owner(vm.account_id, vm.domain_id)


def required_id(ctx: CallContext, args: dict[str, Any], name: str) -> int:
    """A required uuid parameter's internal id. A value that is neither a uuid nor an id
    reaches the handler as absent; the server answers it as an id it cannot read."""
    if name not in args:
        raise errors.unknown_uuid(ctx.command.name, name, ctx.raw_params.get(name, ""))
    return int(args[name])


async def owned_vm(ctx: CallContext, conn: AsyncConnection, vm_id: int) -> VmFacts:
    """The VM behind an `id` the parameter layer resolved (removed rows included), after the
    access check CloudStack's @ACL annotation makes before the command runs."""
    vm = await vm_teardown.facts(conn, vm_id)
    if vm is None:
        raise errors.invalid_parameter("Unable to find a virtual machine with specified vmId")
    await check_owner(conn, ctx.caller, owner_of(vm))
    return vm


def is_admin(caller: Caller) -> bool:
    """AccountManager.isAdmin: root, domain and resource-domain admins."""
    return caller.is_root_admin or caller.is_domain_admin


async def present(ctx: CallContext, conn: AsyncConnection, vm_id: int) -> dict[str, Any]:
    """The VM as listVirtualMachines shows it to this caller (destroyed ones included)."""
    page = await vms.vm_page(conn, vms.VmFilter(ids=(vm_id,), hide_gone=False, display=None), 0, 1)
    if not page.records:
        return {}
    shown: dict[str, Any] = jsonable(
        vm_response.present(page.records[0], ctx.caller, vm_response.detail_groups(None))
    )
    return shown


async def record_event(
    ctx: CallContext, conn: AsyncConnection, vm: VmFacts, kind: str, what: str
) -> None:
    """The single Completed event a synchronous @ActionEvent method leaves."""
    await events.record(
        conn,
        events.NewEvent(
            type=kind,
            description=f"Successfully completed {what}. VM Id: {vm.uuid}",
            user_id=ctx.caller.user_id,
            account_id=vm.account_id,
            domain_id=vm.domain_id,
            created=utc_now(),
            resource_id=vm.id,
            resource_type="VirtualMachine",
        ),
    )


async def setting(
    conn: AsyncConnection,
    name: str,
    default: str,
    *,
    account_id: int | None = None,
    zone_id: int | None = None,
) -> str:
    """A ConfigKey's value in scope: the account's or zone's own detail, else the global one."""
    scoped: Any = None
    if account_id is not None:
        scoped = select(account_details.c.value).where(
            account_details.c.account_id == account_id, account_details.c.name == name
        )
    elif zone_id is not None:
        scoped = select(data_center_details.c.value).where(
            data_center_details.c.dc_id == zone_id, data_center_details.c.name == name
        )
    value = None if scoped is None else (await conn.execute(scoped)).scalar()
    if value is None:
        value = (await configuration.values(conn, [name]))[name]
    return default if value is None else str(value)


async def flag(conn: AsyncConnection, name: str, **scope: int | None) -> bool:
    return (await setting(conn, name, "false", **scope)).strip().lower() == "true"
