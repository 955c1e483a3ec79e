"""The `networkoffering` response object, and the service lists networks share with it."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.render import JavaMap
from compat_api.responses.service_offering import placement_fields
from schema_bridge.offerings import Placement

SHAPE = shapes.of("listNetworkOfferings")
SERVICE_SHAPE = SHAPE.child("service")
PROVIDER_SHAPE = SERVICE_SHAPE.child("provider")
CAPABILITY_SHAPE = SERVICE_SHAPE.child("capability")


def _yes_no(value: Any) -> str:
    return "true" if value else "false"


def offering_capabilities(service: str, row: Any) -> list[tuple[str, str]]:
    """The capabilities an offering's own columns give its Lb, SourceNat and StaticNat."""
    if service == "Lb":
        return [
            ("SupportedLBIsolation", "dedicated" if row.dedicated_lb_service else "shared"),
            ("ElasticLb", _yes_no(row.elastic_lb_service)),
            ("InlineMode", _yes_no(row.inline)),
        ]
    if service == "SourceNat":
        return [
            (
                "SupportedSourceNatTypes",
                "perzone" if row.shared_source_nat_service else "peraccount",
            ),
            ("RedundantRouter", _yes_no(row.redundant_router_service)),
        ]
    if service == "StaticNat":
        return [
            ("ElasticIp", _yes_no(row.elastic_ip_service)),
            ("AssociatePublicIP", _yes_no(row.eip_associate_public_ip)),
        ]
    return []


def service_list(pairs: list[tuple[str, str | None]], row: Any | None) -> list[dict[str, Any]]:
    """Services with their providers (Gateway is never shown); capabilities come from the
    offering's columns when `row` is an offering."""
    providers: dict[str, list[str]] = {}
    for service, provider in pairs:
        names = providers.setdefault(service, [])
        if provider is not None and provider not in names:
            names.append(provider)
    out = []
    for service, names in providers.items():
        if service == "Gateway":
            continue
        capabilities = offering_capabilities(service, row) if row is not None else []
        out.append(
            SERVICE_SHAPE.build(
                {
                    "name": service,
                    "provider": [PROVIDER_SHAPE.build({"name": name}) for name in names],
                    "capability": [
                        CAPABILITY_SHAPE.build(
                            {"name": n, "value": v, "canchooseservicecapability": False}
                        )
                        for n, v in capabilities
                    ],
                }
            )
        )
    return out


def network_rate(row: Any, default_rate: int) -> int:
    """The offering's rate, else the zone-wide throttling setting; 0 means unlimited (-1)."""
    rate = int(row.nw_rate) if row.nw_rate is not None else default_rate
    return -1 if rate == 0 else rate


def present(
    row: Any,
    place: Placement,
    services: list[tuple[str, str | None]],
    default_rate: int,
    router_offering_uuid: str | None,
) -> dict[str, Any]:
    details = {k: v for k, v in place.details.items() if k != "internetProtocol"}
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "displaytext": row.display_text,
        "tags": row.tags,
        "created": row.created,
        "traffictype": row.traffic_type,
        "isdefault": bool(row.default),
        "specifyvlan": bool(row.specify_vlan),
        "conservemode": bool(row.conserve_mode),
        "specifyipranges": bool(row.specify_ip_ranges),
        "availability": row.availability,
        "networkrate": network_rate(row, default_rate),
        "state": row.state,
        "guestiptype": row.guest_type,
        "serviceofferingid": row.service_offering_uuid or router_offering_uuid,
        "service": service_list(services, row),
        "forvpc": bool(row.for_vpc),
        "fornsx": bool(row.for_nsx),
        "fortungsten": bool(row.for_tungsten),
        "networkmode": row.network_mode,
        "ispersistent": bool(row.is_persistent),
        "details": JavaMap(details) if details else None,
        "egressdefaultpolicy": bool(row.egress_default_policy),
        "maxconnections": row.concurrent_connections,
        "supportsstrechedl2subnet": bool(row.supports_streched_l2),
        "supportspublicaccess": bool(row.supports_public_access),
        "supportsinternallb": bool(row.internal_lb),
        "internetprotocol": place.details.get("internetProtocol"),
        "specifyasnumber": bool(row.specify_as_number),
        "routingmode": row.routing_mode,
        "hasannotations": False,
        **placement_fields(place),
    }
    return SHAPE.build(values)
