"""deployVirtualMachine's checks of who deploys and from what: the owner, the zone, the
compute offering, the template, the data disk offering and the destination host.

Every refusal is answered at once with the code and text CloudStack gives (431 for bad
values, 531 for permission, 534 when no storage is up), never a failed job later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.async_jobs import Owner, check_owner
from compat_api.caller import Caller
from schema_bridge import accounts, configuration, deploy_lookups, directory

ROOT_ADMIN_TYPE = 1
DOMAIN_ADMIN_TYPES = (2, 3)
GIB = 1024**3
RESOURCE_UNAVAILABLE = 534


def _uuid(row: Any) -> str:
    """Texts name resources by uuid; internal ids never leave the server."""
    return str(row.uuid) if row is not None else "(removed)"


@dataclass(frozen=True)
class DeployOwner:
    account_id: int
    account_name: str
    account_type: int
    domain_id: int
    domain_uuid: str
    domain_path: str
    project_name: str | None

    @property
    def root_admin(self) -> bool:
        return self.account_type == ROOT_ADMIN_TYPE


async def _named_account(conn: AsyncConnection, caller: Caller, args: dict[str, Any]) -> int:
    """`account` + `domainid`, as finalyzeAccountId resolves them."""
    domain_id = args.get("domainid")
    if domain_id is None:
        raise errors.invalid_parameter("Account must be specified with domainId parameter")
    if await directory.domain_owner(conn, domain_id) is None:
        raise errors.invalid_parameter("Unable to find domain by id")
    found = await accounts.account_by_name(conn, args["account"], domain_id)
    if found is None:
        raise errors.invalid_parameter(
            f"Unable to find account by name {args['account']} in domain with specified id"
        )
    await check_owner(conn, caller, Owner(found.id, found.domain_id))
    return found.id


async def _project_account(conn: AsyncConnection, caller: Caller, project_id: int) -> int:
    project = await directory.project_by_id(conn, project_id)
    if project is None:
        raise errors.invalid_parameter(f"Unable to find project by id {project_id}")
    if caller.role_type == "User":
        allowed = await directory.is_project_member(conn, project.id, caller.account_id)
    else:
        allowed = caller.is_root_admin or project.domain_path.startswith(caller.domain_path)
    if not allowed:
        raise errors.permission_denied(
            f"Account {caller.account_name} can't access project id={project_id}"
        )
    return project.account_id


async def resolve_owner(conn: AsyncConnection, caller: Caller, args: dict[str, Any]) -> DeployOwner:
    """The account the VM is for: the caller, a named account (admins) or a project."""
    account_id = caller.account_id
    if "account" in args:
        account_id = await _named_account(conn, caller, args)
    elif args.get("projectid") is not None:
        account_id = await _project_account(conn, caller, args["projectid"])
    found = await directory.account_owner(conn, account_id)
    state = await deploy_lookups.account_state(conn, account_id)
    if found is None or found.account_id is None:
        raise errors.invalid_parameter("Unable to find the account to deploy the VM for")
    if state != "enabled":
        raise errors.permission_denied(
            f"Can't add resources to the account {found.account_name} in state={state} as it's "
            "no longer active"
        )
    return DeployOwner(
        account_id=found.account_id,
        account_name=str(found.account_name),
        account_type=int(found.account_type or 0),
        domain_id=found.domain_id,
        domain_uuid=found.domain_uuid,
        domain_path=found.domain_path,
        project_name=found.project_name,
    )


async def check_zone(conn: AsyncConnection, caller: Caller, zone_id: int) -> Any:
    zone = await deploy_lookups.zone(conn, zone_id)
    if zone is None or zone.removed is not None:
        # Removed rows still resolve by uuid; the answer is as for an unknown zone.
        raise errors.invalid_parameter(f"Unable to find zone by id={_uuid(zone)}")
    if zone.allocation_state == "Disabled" and not caller.is_root_admin:
        raise errors.permission_denied(
            f"Cannot perform this operation, Zone: {zone.name} is currently disabled"
        )
    if await deploy_lookups.pools_up(conn, zone_id) < 1:
        raise errors.ApiError(
            RESOURCE_UNAVAILABLE, "There are no available pools in the UP state for vm deployment"
        )
    return zone


async def check_offering(conn: AsyncConnection, offering_id: int) -> Any:
    offering = await deploy_lookups.service_offering_row(conn, offering_id)
    if offering is None or offering.removed is not None or offering.vm_type is not None:
        raise errors.invalid_parameter(f"Unable to find service offering: {_uuid(offering)}")
    if offering.state == "Inactive":
        raise errors.invalid_parameter(f"Service offering is inactive: [{offering.uuid}].")
    return offering


async def _may_launch(conn: AsyncConnection, owner: DeployOwner, template: Any) -> bool:
    """checkAccess(owner, UseEntry, template): public, own, shared with the owner, or (for
    root/domain admins) owned inside their reach."""
    if template.public or owner.root_admin or template.account_id == owner.account_id:
        return True
    if await deploy_lookups.launch_permitted(conn, template.id, owner.account_id):
        return True
    if owner.account_type in DOMAIN_ADMIN_TYPES:
        template_owner = await directory.account_owner(conn, int(template.account_id))
        return template_owner is not None and template_owner.domain_path.startswith(
            owner.domain_path
        )
    return False


async def check_template(
    conn: AsyncConnection, owner: DeployOwner, template_id: int | None, zone_id: int
) -> Any:
    if template_id is None:
        raise errors.missing_param("deployVirtualMachine", "templateid")
    template = await deploy_lookups.template_row(conn, template_id)
    if template is None or template.removed is not None:
        raise errors.invalid_parameter(f"Unable to use template {_uuid(template)}")
    if template.type == "SYSTEM":
        raise errors.invalid_parameter(
            f"Unable to use system template {template.uuid} to deploy a user vm"
        )
    if template.format == "ISO":
        raise errors.invalid_parameter(
            f"Unable to deploy from ISO {template.uuid}: this server deploys from templates only"
        )
    if template.state != "Active":
        raise errors.invalid_parameter(
            f"Template {template.uuid} is in state {template.state}; only Active templates can "
            "be deployed"
        )
    if not await deploy_lookups.template_in_zone(conn, template.id, zone_id):
        raise errors.invalid_parameter(f"The template {template.uuid} is not available for use")
    if not await _may_launch(conn, owner, template):
        raise errors.permission_denied(
            f"Account {owner.account_name} does not have permission to launch instances from "
            f"template {template.uuid}"
        )
    return template


async def _custom_size_range(conn: AsyncConnection) -> tuple[int, int]:
    names = ("custom.diskoffering.size.min", "custom.diskoffering.size.max")
    values = await configuration.values(conn, names)
    low, high = values.get(names[0]), values.get(names[1])
    return (
        int(low) if low and low.isdigit() else 1,
        int(high) if high and high.isdigit() else 1024,
    )


async def check_data_disk(
    conn: AsyncConnection, offering_id: int | None, size_gb: int | None
) -> tuple[Any, int] | None:
    """The DATA volume's disk offering and size in bytes (None without diskofferingid)."""
    if offering_id is None:
        return None
    offering = await deploy_lookups.disk_offering_row(conn, offering_id)
    if offering is None or offering.removed is not None or offering.state == "Inactive":
        raise errors.invalid_parameter(f"Unable to find disk offering {_uuid(offering)}")
    if offering.compute_only:
        raise errors.invalid_parameter(
            f"The disk offering {offering.name} provided is directly mapped to a service "
            "offering, please provide an individual disk offering"
        )
    if not offering.customized:
        return offering, int(offering.disk_size or 0)
    if size_gb is None:
        raise errors.invalid_parameter("This disk offering requires a custom size specified")
    low, high = await _custom_size_range(conn)
    if size_gb < low or size_gb > high:
        raise errors.invalid_parameter(
            f"VM Creation failed. Volume size: {size_gb}GB is out of allowed range. Max: {high} "
            f"Min:{low}"
        )
    return offering, size_gb * GIB


async def check_host(
    conn: AsyncConnection, caller: Caller, host_id: int | None, zone_id: int
) -> int | None:
    """An explicit destination host: root admins only, a live hypervisor host of the zone."""
    if host_id is None:
        return None
    if not caller.is_root_admin:
        raise errors.permission_denied(
            "Parameter hostid can only be specified by a Root Admin, permission denied"
        )
    host = await deploy_lookups.host_row(conn, host_id)
    if host is None or host.removed is not None or host.type != "Routing":
        raise errors.invalid_parameter(f"Unable to find a hypervisor host by id {_uuid(host)}")
    if host.data_center_id != zone_id:
        raise errors.invalid_parameter(
            f"Destination host {host.uuid} does not belong to the zone of the VM"
        )
    return int(host.id)
