"""The `virtualmachine` response object (UserVmResponse) and its nested `nic` items.

What is shown follows CloudStack's view rules: root admins get the full view (host,
instance name, display flag, every detail); everyone else the restricted one. The
`details` parameter picks groups of fields; the always-initialised lists (securitygroup,
nic, affinitygroup, tags) are present as [] even when their group is not asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, Final

from compat_api import errors, shapes
from compat_api.caller import Caller, pretty_path
from compat_api.render import JavaMap
from compat_api.responses import tag
from schema_bridge.vms import NicRecord, VmRecord

SHAPE = shapes.of("listVirtualMachines")
NIC = SHAPE.child("nic")
PROJECT_TYPE: Final = 5


class Details(Enum):
    """ApiConstants.VMDetails, in declaration order (the error text lists them so)."""

    ALL = "all"
    GROUP = "group"
    NICS = "nics"
    STATS = "stats"
    SECGRP = "secgrp"
    TMPL = "tmpl"
    SERVOFF = "servoff"
    DISKOFF = "diskoff"
    BACKOFF = "backoff"
    ISO = "iso"
    VOLUME = "volume"
    MIN = "min"
    AFFGRP = "affgrp"


# QueryService.UserVMDeniedDetails / UserVMReadOnlyDetails defaults: hidden from, and
# reported read-only to, callers that are not root admins.
DENIED_DETAILS: Final = frozenset(
    {
        "rootdisksize",
        "cpuOvercommitRatio",
        "memoryOvercommitRatio",
        "Message.ReservedCapacityFreed.Flag",
    }
)
READ_ONLY_DETAILS: Final = "dataDiskController, rootDiskController"
MAINTENANCE: Final = frozenset(
    {"PrepareForMaintenance", "ErrorInPrepareForMaintenance", "Maintenance", "ErrorInMaintenance"}
)
LOST: Final = frozenset({"Down", "Alert", "Disconnected", "Removed", "Error"})


def detail_groups(values: Iterable[str] | None) -> frozenset[Details]:
    """The `details` parameter; names are matched exactly, as Enum.valueOf does."""
    names = [v.strip() for v in values or () if v.strip()]
    if not names:
        return frozenset({Details.ALL})
    try:
        return frozenset(Details(name) for name in names)
    except ValueError:
        allowed = ", ".join(d.value for d in Details)
        text = "The details parameter contains a non permitted value. The allowed values are"
        raise errors.invalid_parameter(f"{text} [{allowed}]") from None


def _control_state(status: str | None, resource_state: str | None) -> str:
    """The host's ControlState as the VM response reports it."""
    if status is None or status == "Unknown" or resource_state is None:
        return "Unknown"
    if status in LOST:
        return "Offline"
    if resource_state in MAINTENANCE:
        return "Maintenance"
    return "Enabled" if resource_state == "Enabled" else "Disabled"


def _nic(record: NicRecord) -> dict[str, Any]:
    row, network = record.nic, record.network
    values: dict[str, Any] = {
        "id": row.uuid,
        "networkid": network.network_uuid if network else None,
        "networkname": network.network_name if network else None,
        "netmask": row.netmask,
        "gateway": row.gateway,
        "ipaddress": row.ip4_address,
        "isolationuri": row.isolation_uri,
        "broadcasturi": row.broadcast_uri,
        "traffictype": network.traffic_type if network else None,
        "type": network.guest_type if network else None,
        "isdefault": bool(row.default_nic),
        "macaddress": row.mac_address,
        "ip6gateway": row.ip6_gateway,
        "ip6cidr": row.ip6_cidr,
        "ip6address": row.ip6_address,
        "secondaryip": [],
        "extradhcpoption": [],
        "deviceid": None if row.device_id is None else str(row.device_id),
        "vpcid": network.vpc_uuid if network else None,
        "vpcname": network.vpc_name if network else None,
    }
    return NIC.build(values)


def _owner(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_TYPE
    return {
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "userid": row.user_uuid,
        "username": row.username,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
    }


def _template(row: Any, groups: frozenset[Details]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if Details.TMPL in groups:
        values.update(
            templateid=row.template_uuid,
            templatename=row.template_name,
            templatetype=row.template_type,
            templateformat=row.template_format,
            templatedisplaytext=row.template_display_text,
            passwordenabled=None if row.enable_password is None else bool(row.enable_password),
        )
    if Details.ISO in groups:
        values.update(isoid=row.iso_uuid, isoname=row.iso_name, isodisplaytext=row.iso_display_text)
    return values


def _offering(record: VmRecord) -> dict[str, Any]:
    row, details = record.row, record.details
    # Custom offerings keep the chosen size in the VM's details.
    cpu = row.cpu if row.cpu is not None else details.get("cpuNumber")
    speed = row.speed if row.speed is not None else details.get("cpuSpeed")
    memory = row.ram_size if row.ram_size is not None else details.get("memory")
    return {
        "serviceofferingid": row.offering_uuid,
        "serviceofferingname": row.offering_name,
        "cpunumber": None if cpu is None else int(cpu),
        "cpuspeed": None if speed is None else int(speed),
        "memory": None if memory is None else int(memory),
    }


def _details(record: VmRecord, full: bool) -> dict[str, Any]:
    shown = {k: v for k, v in record.details.items() if full or k not in DENIED_DETAILS}
    uefi = next((v for k, v in record.details.items() if k.upper() == "UEFI"), None)
    values: dict[str, Any] = {
        "details": JavaMap(shown),
        "readonlydetails": None if full else READ_ONLY_DETAILS,
        "keypairs": record.details.get("SSH.KeyPairNames"),
    }
    # CloudStack reports BIOS only for a VM without any detail row, UEFI when that detail exists.
    if uefi is not None:
        values.update(bootmode=uefi.lower(), boottype="Uefi")
    elif not record.details:
        values.update(bootmode="legacy", boottype="Bios")
    if record.root is not None:
        values["pooltype"] = record.root.pool_type
    return values


def _groups(record: VmRecord, groups: frozenset[Details]) -> dict[str, Any]:
    row, values = record.row, dict[str, Any]()
    if Details.GROUP in groups:
        values.update(groupid=row.group_uuid, group=row.group_name)
    values.update(_template(row, groups))
    if Details.SERVOFF in groups:
        values.update(_offering(record))
    if Details.VOLUME in groups and record.root is not None:
        values.update(rootdeviceid=record.root.device_id, rootdevicetype=record.root.volume_type)
    if Details.NICS in groups:
        values["nic"] = [_nic(nic) for nic in record.nics]
        default = next((n.nic for n in record.nics if n.nic.default_nic), None)
        values["ipaddress"] = None if default is None else default.ip4_address
    return values


def present(record: VmRecord, caller: Caller, groups: frozenset[Details]) -> dict[str, Any]:
    row, full = record.row, caller.is_root_admin
    if Details.ALL in groups:
        groups = frozenset(Details)
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "displayname": row.display_name or row.name,
        **_owner(row),
        "created": row.created,
        "lastupdated": row.update_time,
        "state": row.state,
        "haenable": bool(row.ha_enabled),
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "guestosid": row.os_uuid,
        "securitygroup": [],
        "nic": [],
        "hypervisor": row.hypervisor_type,
        "affinitygroup": [],
        "isdynamicallyscalable": bool(row.dynamically_scalable),
        "deleteprotection": bool(row.delete_protection),
        "ostypeid": row.os_uuid,
        "osdisplayname": row.os_display_name,
        "arch": row.arch,
        "tags": [tag.present(t) for t in record.tags],
        "hasannotations": False,
        **_groups(record, groups),
        **_details(record, full),
    }
    if row.host_uuid is not None:
        values["hostcontrolstate"] = _control_state(row.host_status, row.host_resource_state)
    if full:
        values.update(
            hostid=row.host_uuid,
            hostname=row.host_name_,
            instancename=row.instance_name,
            displayvm=bool(row.display_vm),
        )
    if record.job is not None:
        values.update(jobid=record.job.uuid, jobstatus=int(record.job.job_status))
    return SHAPE.build(values)
