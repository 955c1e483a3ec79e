"""The IPAddressResponse object: `publicipaddress` in lists, `ipaddress` in job results.

Root admins get the full view (the VLAN range and the display flag), as CloudStack's
ByAdmin commands do.
"""

from __future__ import annotations

from typing import Any, Final

from compat_api import shapes
from compat_api.caller import Caller, pretty_path
from compat_api.responses import tag
from schema_bridge.ip_addresses import IpRecord

LIST_SHAPE = shapes.of("listPublicIpAddresses")
JOB_SHAPE = shapes.of("associateIpAddress")
PROJECT_TYPE: Final = 5


def _owner(row: Any) -> dict[str, Any]:
    if row.account_id is None or row.account_name is None:
        return {}
    project = int(row.account_type) == PROJECT_TYPE
    return {
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
    }


def _vm(row: Any) -> dict[str, Any]:
    if row.vm_uuid is None:
        return {}
    return {
        "virtualmachineid": row.vm_uuid,
        "virtualmachinetype": row.vm_type,
        "virtualmachinename": row.vm_name,
        "virtualmachinedisplayname": row.vm_display_name or row.vm_name,
    }


def _purpose(row: Any) -> str | None:
    if not row.is_system:
        return None
    return "StaticNat" if row.one_to_one_nat else "Lb"


def _values(record: IpRecord, caller: Caller) -> dict[str, Any]:
    row = record.row
    values: dict[str, Any] = {
        "id": row.uuid,
        "ipaddress": row.public_ip_address,
        "allocated": row.allocated,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "issourcenat": bool(row.source_nat),
        **_owner(row),
        "forvirtualnetwork": row.vlan_type == "VirtualNetwork",
        "isstaticnat": bool(row.one_to_one_nat),
        "issystem": bool(row.is_system),
        **_vm(row),
        "vmipaddress": row.dnat_vmip,
        "associatednetworkid": row.associated_uuid,
        "associatednetworkname": row.associated_name,
        "networkid": row.network_uuid,
        "state": row.state,
        "physicalnetworkid": row.physical_network_uuid,
        "purpose": _purpose(row),
        "vpcid": row.vpc_uuid,
        "vpcname": row.vpc_name,
        "tags": [tag.present(t) for t in record.tags],
        "isportable": bool(row.is_portable),
        "networkname": row.network_name,
        "hasrules": bool(row.has_rules),
        "forsystemvms": bool(row.forsystemvms),
        "forprovider": False,
        "hasannotations": record.has_annotations,
    }
    if caller.is_root_admin:
        values.update(vlanid=row.vlan_uuid, vlanname=row.vlan_tag, fordisplay=bool(row.display))
    return values


def present(record: IpRecord, caller: Caller) -> dict[str, Any]:
    return LIST_SHAPE.build(_values(record, caller))


def present_job_result(record: IpRecord, caller: Caller) -> dict[str, Any]:
    return JOB_SHAPE.build(_values(record, caller))
