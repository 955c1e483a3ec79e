"""The `zone` response object."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.caller import Caller

SHAPE = shapes.of("listZones")
# Zone-level MTU settings default to these when no override exists.
DEFAULT_MTU = 1500


def present(row: Any, caller: Caller) -> dict[str, Any]:
    full = caller.is_root_admin
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "description": row.description,
        "networktype": row.networktype,
        "securitygroupsenabled": bool(row.is_security_group_enabled),
        "gputotal": 0,
        "gpuused": 0,
        "allocationstate": row.allocation_state,
        "zonetoken": row.zone_token,
        "dhcpprovider": row.dhcp_provider,
        "localstorageenabled": bool(row.is_local_storage_enabled),
        "tags": [],
        "allowuserspecifyvrmtu": False,
        "routerprivateinterfacemaxmtu": DEFAULT_MTU,
        "routerpublicinterfacemaxmtu": DEFAULT_MTU,
        "type": row.type,
        "isnsxenabled": False,
        "ismultiarch": False,
        "asnrange": "",
        "routedmodeenabled": False,
        "hasannotations": False,
    }
    if row.domain_id is not None:
        values.update(domainid=row.domain_uuid, domainname=row.domain_name)
    if full:
        values.update(
            dns1=row.dns1,
            dns2=row.dns2,
            ip6dns1=row.ip6_dns1,
            ip6dns2=row.ip6_dns2,
            internaldns1=row.internal_dns1,
            internaldns2=row.internal_dns2,
            guestcidraddress=row.guest_network_cidr,
            domain=row.domain,
        )
    return SHAPE.build(values)
