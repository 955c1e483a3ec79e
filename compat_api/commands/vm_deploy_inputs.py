"""deployVirtualMachine's checks of what the VM gets: networks, a requested address, its
name, SSH key pairs, user data and custom details (sizes of custom offerings, root disk)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncConnection

from compat_api import errors
from compat_api.commands.vm_deploy_checks import GIB, DeployOwner
from schema_bridge import configuration, deploy_lookups, limits

INSUFFICIENT_CAPACITY = 533
_LABEL = re.compile(r"^[a-z0-9-]*$")
# UserDataManager: GET carries up to 4 KB of user data, POST up to 1 MB.
_MAX_USER_DATA = {"GET": 4096, "POST": 1048576}
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\-_\s]*$")
_SIZES = ("cpuNumber", "cpuSpeed", "memory")


# --- networks ---------------------------------------------------------------------------


async def _usable(conn: AsyncConnection, owner: DeployOwner, network: Any) -> bool:
    if network.guest_type == "Shared" and network.acl_type != "Account":
        chain = await limits.domain_parents(conn, owner.domain_id)
        return await deploy_lookups.shared_in_domain(conn, network.id, chain)
    return await deploy_lookups.account_uses_network(conn, network.id, owner.account_id)


def _refuse_network(network: Any, owner: DeployOwner) -> errors.ApiError:
    if network.guest_type == "Shared" and network.acl_type != "Account":
        return errors.permission_denied(
            f"Shared network id={network.uuid} is not available in domain id={owner.domain_uuid}"
        )
    return errors.permission_denied(
        f"Unable to use network with id= {network.uuid}, permission denied"
    )


async def _check_network(
    conn: AsyncConnection, owner: DeployOwner, zone: Any, network_id: int
) -> int:
    network = await deploy_lookups.network_row(conn, network_id)
    if network is None or network.removed is not None:
        raise errors.invalid_parameter("Unable to find network by id")
    if network.data_center_id != zone.id:
        raise errors.invalid_parameter(
            f"Network id={network.uuid} doesn't belong to zone {zone.uuid}"
        )
    if network.traffic_type != "Guest":
        raise errors.invalid_parameter(
            f"Can't create a vm with nics on non-guest network {network.name}"
        )
    if not await _usable(conn, owner, network):
        raise _refuse_network(network, owner)
    if network.guest_type != "Shared":
        # Isolated and L2 guest networks need their own IP/VLAN machinery (virtual routers);
        # this server allocates NICs on shared networks only, and says so.
        raise errors.invalid_parameter(
            f"Network {network.name} is a {network.guest_type} network; VMs can be deployed "
            "on shared guest networks only"
        )
    return int(network.id)


async def check_networks(
    conn: AsyncConnection, owner: DeployOwner, zone: Any, requested: list[int] | None
) -> list[int]:
    """The requested networks (the first one gets the default NIC), or the owner's first
    usable shared guest network of the zone."""
    if requested:
        if len(set(requested)) != len(requested):
            raise errors.invalid_parameter("A network can be given only once in networkids")
        return [await _check_network(conn, owner, zone, n) for n in requested]
    for network in await deploy_lookups.guest_networks(conn, zone.id):
        if network.guest_type == "Shared" and await _usable(conn, owner, network):
            return [int(network.id)]
    raise errors.invalid_parameter(
        f"Unable to find a usable guest network for the VM in zone {zone.name}; specify networkids"
    )


async def check_address(conn: AsyncConnection, network_id: int, wanted: str | None) -> str | None:
    """A requested IPv4 address: well-formed, in the network's range and free."""
    if wanted is None:
        return None
    try:
        address = str(ipaddress.IPv4Address(wanted.strip()))
    except ValueError:
        raise errors.invalid_parameter(f"Invalid specified IPv4 address {wanted}") from None
    found = await deploy_lookups.address_row(conn, network_id, address)
    if found is None or found.state != "Free":
        # What IpAddressManager's fetchNewPublicIp throws when the address is not available.
        raise errors.ApiError(INSUFFICIENT_CAPACITY, "Insufficient address capacity")
    return address


# --- names ------------------------------------------------------------------------------


def check_host_name(name: str) -> None:
    """NetUtils.verifyDomainNameLabel(name, isHostName=true)."""
    lowered = name.lower()
    if (
        not 1 <= len(name) <= 63
        or not _LABEL.match(lowered)
        or name.startswith("-")
        or name.endswith("-")
        or lowered[0].isdigit()
    ):
        raise errors.invalid_parameter(
            "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' "
            "through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and "
            "can't start or end with \"-\" and can't start with digit"
        )


async def check_name_free(conn: AsyncConnection, name: str, network_ids: list[int]) -> None:
    """A host name is unique in each network (domain) the VM joins."""
    for network_id in network_ids:
        if await deploy_lookups.name_taken(conn, name, network_id):
            network = await deploy_lookups.network_row(conn, network_id)
            assert network is not None
            # Java prints a missing network domain as "null".
            domain = network.network_domain if network.network_domain is not None else "null"
            raise errors.invalid_parameter(
                f"The vm with hostName {name} already exists in the network domain: {domain}; "
                f"network={network.name}"
            )


# --- key pairs and user data -------------------------------------------------------------


async def check_keypairs(
    conn: AsyncConnection, owner: DeployOwner, names: list[str]
) -> list[tuple[str, str]]:
    """The SSH.PublicKey and SSH.KeyPairNames details for the owner's key pairs `names`."""
    if not names:
        return []
    found = await deploy_lookups.keypairs(conn, owner.account_id, owner.domain_id, names)
    if len(found) != len(names):
        raise errors.invalid_parameter("Not all specified keypairs exist")
    return [
        ("SSH.PublicKey", "\n".join(found[name] for name in names)),
        ("SSH.KeyPairNames", ",".join(names)),
    ]


async def check_user_data(conn: AsyncConnection, text: str | None, method: str) -> str | None:
    """UserDataManager.validateUserData: base64, within the method's and the configured
    length, not empty; stored re-encoded with padding."""
    if text is None:
        return None
    if "%" in text:
        text = unquote(text)
    if not _BASE64.match(text):
        raise errors.invalid_parameter("User data is not base64 encoded")
    limit = _MAX_USER_DATA["GET" if method.upper() == "GET" else "POST"]
    configured = (await configuration.values(conn, ["vm.userdata.max.length"])).get(
        "vm.userdata.max.length"
    )
    if len(text) >= limit:
        raise errors.invalid_parameter(
            f"User data is too long for an http {method.upper()} request"
        )
    maximum = int(configured) if configured and configured.isdigit() else 32768
    if len(text) > maximum:
        raise errors.invalid_parameter(
            f"User data has exceeded configurable max length : {maximum}"
        )
    decoded = _decode(text)
    if len(decoded) < 1:
        raise errors.invalid_parameter("User data is too short")
    return base64.b64encode(decoded).decode()


def _decode(text: str) -> bytes:
    """Lenient like commons-codec: whitespace skipped, URL-safe letters accepted, padding
    optional."""
    compact = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        raise errors.invalid_parameter("User data is not base64 encoded") from None


# --- details ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    cpus: int
    speed: int
    memory: int
    custom: bool


def merged_details(args: dict[str, Any]) -> dict[str, str]:
    """The `details` map (details[0].key=value...) as one dict, with `rootdisksize`."""
    merged: dict[str, str] = {}
    for _, entry in sorted((args.get("details") or {}).items()):
        merged.update({str(k): str(v) for k, v in entry.items()})
    if "extraconfig" in {k.lower() for k in merged}:
        raise errors.invalid_parameter("'extraconfig' should not be included in details as key")
    if args.get("rootdisksize") is not None and "rootdisksize" not in merged:
        merged["rootdisksize"] = str(args["rootdisksize"])
    return merged


def _number(details: dict[str, str], name: str) -> int:
    try:
        return int(details.get(name, "-1"))
    except ValueError:
        return -1


def check_sizes(offering: Any, extra: dict[str, str], bounds: dict[str, str]) -> Sizes:
    """The VM's CPU and memory: the offering's, or the custom ones a dynamic offering needs."""
    custom = offering.cpu is None or offering.speed is None or offering.ram_size is None
    given = [k for k in extra if k.lower() in {s.lower() for s in _SIZES}]
    if not custom:
        if given:
            raise errors.invalid_parameter(
                "cpuNumber or cpuSpeed or memory should not be specified for static service "
                "offering"
            )
        return Sizes(int(offering.cpu), int(offering.speed), int(offering.ram_size), False)
    if not given:
        raise errors.invalid_parameter(
            "Need to specify custom parameter values cpu, cpu speed and memory when using "
            "custom offering"
        )
    cpus = _custom_value(offering, extra, "cpuNumber", bounds, ("mincpunumber", "maxcpunumber"))
    speed = offering.speed if offering.speed is not None else _number(extra, "cpuSpeed")
    if int(speed) <= 0:
        raise errors.invalid_parameter(
            "Invalid cpu speed value, specify a value between 1 and 2147483647"
        )
    memory = _custom_value(offering, extra, "memory", bounds, ("minmemory", "maxmemory"))
    return Sizes(cpus, int(speed), memory, True)


def _custom_value(
    offering: Any, extra: dict[str, str], name: str, bounds: dict[str, str], keys: tuple[str, str]
) -> int:
    what = "cpu cores" if name == "cpuNumber" else "memory"
    fixed = offering.cpu if name == "cpuNumber" else offering.ram_size
    if fixed is not None:
        if name in extra:
            raise errors.invalid_parameter(
                f"The {what} of this offering id:{offering.uuid} is not customizable. This is "
                "predefined in the template."
            )
        return int(fixed)
    default_low = 1 if name == "cpuNumber" else 32
    low = int(bounds.get(keys[0], default_low))
    high = int(bounds.get(keys[1], 2147483647))
    value = _number(extra, name)
    if not low <= value <= high:
        raise errors.invalid_parameter(
            f"Invalid {what} value, specify a value between {low} and {high}"
        )
    return value


def check_root_size(template: Any, base: int, details: dict[str, str]) -> int:
    """The ROOT volume size: rootdisksize (GB) when given, never below the template."""
    template_size = int(template.size or 0)
    if "rootdisksize" not in details:
        return max(template_size, base)
    size_gb = _number(details, "rootdisksize")
    if size_gb <= 0:
        raise errors.invalid_parameter("Root disk size should be a positive number.")
    if size_gb * GIB < template_size:
        raise errors.invalid_parameter(
            f"Unsupported: rootdisksize override ({size_gb} GB) is smaller than template size "
            f"{human_size(template_size)}"
        )
    return size_gb * GIB


def human_size(size: int) -> str:
    """NumbersUtil.toHumanReadableSize: '<bytes> (<readable>)'."""
    units = ((1024**4, "%.4f TB"), (GIB, "%.2f GB"), (1024**2, "%.2f MB"), (1024, "%.2f KB"))
    if 0 <= size < 1024:
        return f"{size} ({size} bytes)"
    for unit, fmt in units:
        if abs(size) >= unit or unit == 1024:
            return f"{size} ({fmt % (size / unit)})"
    raise AssertionError("unreachable")
