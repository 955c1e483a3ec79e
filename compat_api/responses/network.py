"""The `network` response object."""

from __future__ import annotations

import ipaddress
from typing import Any

from compat_api import shapes
from compat_api.caller import Caller, pretty_path
from compat_api.responses.network_offering import service_list
from schema_bridge.catalog import PROJECT_ACCOUNT_TYPE
from schema_bridge.networks import DomainShare

SHAPE = shapes.of("listNetworks")


def netmask(cidr: str | None) -> str | None:
    if not cidr:
        return None
    try:
        return str(ipaddress.ip_network(cidr, strict=False).netmask)
    except ValueError:
        return None


def vlan_of(broadcast_uri: str) -> str:
    """The VLAN/VNI of a vlan:// or vxlan:// broadcast URI; N/A for anything else."""
    scheme, _, value = broadcast_uri.partition("://")
    return value if scheme.lower() in ("vlan", "vxlan") and value else "N/A"


def _owner(row: Any, share: DomainShare | None) -> dict[str, Any]:
    if row.acl_type == "Domain":
        if share is None:
            return {}
        return {
            "domainid": share.domain_uuid,
            "domain": share.domain_name,
            "domainpath": pretty_path(share.domain_path),
            "subdomainaccess": share.subdomain_access,
        }
    project = int(row.account_type) == PROJECT_ACCOUNT_TYPE
    return {
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
    }


def _dns(row: Any) -> dict[str, Any]:
    # Guest and public networks resolve through the zone's servers unless they set their own.
    zone_wide = row.traffic_type in ("Guest", "Public")
    return {
        "dns1": row.dns1 or (row.zone_dns1 if zone_wide else None),
        "dns2": row.dns2 or (row.zone_dns2 if zone_wide else None),
        "ip6dns1": row.ip6dns1 or (row.zone_ip6_dns1 if zone_wide else None),
        "ip6dns2": row.ip6dns2 or (row.zone_ip6_dns2 if zone_wide else None),
    }


def _admin_only(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"displaynetwork": bool(row.display_network)}
    if row.broadcast_uri:
        values.update(broadcasturi=row.broadcast_uri, vlan=vlan_of(row.broadcast_uri))
    return values


def _addressing(row: Any) -> dict[str, Any]:
    return {
        "id": row.uuid,
        "name": row.name,
        "displaytext": row.display_text,
        "broadcastdomaintype": row.broadcast_domain_type,
        "traffictype": row.traffic_type,
        "gateway": row.gateway,
        "netmask": netmask(row.network_cidr or row.cidr),
        "cidr": row.cidr,
        "networkcidr": row.network_cidr,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "ip6gateway": row.ip6_gateway,
        "ip6cidr": row.ip6_cidr,
        "publicmtu": row.public_mtu,
        "privatemtu": row.private_mtu,
        **_dns(row),
    }


def _offering(row: Any) -> dict[str, Any]:
    isolated = row.guest_type == "Isolated" and row.vpc_id is None
    return {
        "networkofferingid": row.offering_uuid,
        "networkofferingname": row.offering_name,
        "networkofferingdisplaytext": row.offering_display_text,
        "networkofferingconservemode": bool(row.conserve_mode),
        "networkofferingavailability": row.availability,
        "issystem": bool(row.system_only),
        "specifyvlan": bool(row.specify_vlan),
        "ispersistent": bool(row.is_persistent),
        "supportsvmautoscaling": bool(row.supports_vm_autoscaling),
        "egressdefaultpolicy": bool(row.egress_default_policy) if isolated else None,
    }


def _state(row: Any) -> dict[str, Any]:
    return {
        "state": row.state,
        "related": row.related_uuid,
        "type": row.guest_type,
        "acltype": row.acl_type,
        "networkdomain": row.network_domain,
        "physicalnetworkid": row.physical_network_uuid,
        "restartrequired": bool(row.restart_required),
        "specifyipranges": bool(row.specify_ip_ranges),
        "vpcid": row.vpc_uuid,
        "vpcname": row.vpc_name,
        "canusefordeploy": bool(row.usable),
        "aclid": row.acl_uuid,
        "aclname": row.acl_name,
        "strechedl2subnet": bool(row.streched_l2),
        "externalid": row.external_id,
        "redundantrouter": bool(row.redundant),
        "created": row.created,
    }


def present(
    row: Any,
    caller: Caller,
    services: list[tuple[str, str | None]],
    share: DomainShare | None,
    tags: list[dict[str, Any]],
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service": service_list(services, None),
        "tags": tags,
        # Router traffic statistics are not kept here; the server reports 0 without them.
        "receivedbytes": 0,
        "sentbytes": 0,
        "hasannotations": False,
        **_addressing(row),
        **_offering(row),
        **_state(row),
        **_owner(row, share),
    }
    if caller.is_root_admin:
        values.update(_admin_only(row))
    return SHAPE.build(values)
