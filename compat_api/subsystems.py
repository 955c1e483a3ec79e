"""Every CloudStack command belongs to exactly one subsystem, the unit that routes move.

The facts group commands by CloudStack's API-doc category; a subsystem gathers categories
that must move together (a VM's NICs move with the VM). A few commands sit in a category
that would send them to the wrong place and are named one by one.
"""

from __future__ import annotations

from compat_api.facts import all_commands

SUBSYSTEMS = (
    "vm",
    "volume",
    "network",
    "template",
    "offering",
    "account",
    "infra",
    "job",
    "event",
    "tag",
    "kubernetes",
    "backup",
    "usage",
)

_CATEGORIES: dict[str, tuple[str, ...]] = {
    "vm": (
        "Virtual Machine",
        "VM Group",
        "Nic",
        "Affinity Group",
        "SSH",
        "User Data",
        "Virtual Network Functions",
        "Import VM Task",
        "System VM",
    ),
    "volume": (
        "Volume",
        "Snapshot",
        "Shared FileSystem",
        "vSphere storage policies",
        "Pool",
        "SolidFire",
        "Sioc",
        "Misc",
    ),
    "network": (
        "Network",
        "Address",
        "Firewall",
        "Load Balancer",
        "NAT",
        "VPN",
        "VPC",
        "Network ACL",
        "Security Group",
        "VLAN",
        "Router",
        "Internal LB",
        "Portable IP",
        "Nicira NVP",
        "Tungsten",
        "BGP Peer",
        "AS Number",
        "AS Number Range",
        "NSX",
        "Netris",
        "IP Quarantine",
        "Misc Network Service Providers",
        "Ovs Element",
        "BigSwitch BCF",
        "Brocade VCS",
        "Netscaler",
        "Palo Alto",
        "Network Device",
        "External Device",
        "Baremetal",
        "AutoScale",
    ),
    "template": ("Template", "ISO", "Guest OS"),
    "offering": ("Service Offering", "Disk Offering", "Network Offering", "VPC Offering"),
    "account": (
        "Account",
        "User",
        "Domain",
        "Role",
        "Project",
        "Authentication",
        "LDAP",
        "Oauth",
        "Resource Limit",
        "Limit",
        "Region",
        "Cloud Identifier",
        "Quota",
    ),
    "infra": (
        "Zone",
        "Pod",
        "Cluster",
        "Host",
        "Storage Pool",
        "Image Store",
        "Object Store",
        "Maintenance",
        "Management",
        "Configuration",
        "Out-of-band Management",
        "UCS",
        "Alert",
        "System Capacity",
        "Storage Access Groups",
        "Dedicate Resources",
        "Certificate",
        "SSL Certificates",
        "GUI Theme",
        "Diagnostics",
        "Extension",
        "GPU",
        "simulator",
        "Metrics",
        "Cloudian",
        "Console Session",
        "API Discovery",
        "Annotations",
        "Webhook",
        "Resource",
        "Resource Icon",
    ),
    "job": ("Async job",),
    "event": ("Event",),
    "tag": ("Resource tags", "Resource metadata"),
    "kubernetes": ("Kubernetes Service",),
    "backup": ("Backup and Recovery",),
    "usage": ("Usage",),
}

# Commands whose category misplaces them for routing purposes.
_COMMANDS = {
    "listVolumesMetrics": "volume",
    "listVirtualMachinesMetrics": "vm",
    "listVirtualMachinesUsageHistory": "vm",
    "listVolumesUsageHistory": "volume",
}

_BY_CATEGORY = {category: name for name, cats in _CATEGORIES.items() for category in cats}


def subsystem_of(command: str) -> str:
    """The subsystem of any command in the facts (KeyError for an unknown command or an
    unmapped category, so a new category cannot slip through silently)."""
    if command in _COMMANDS:
        return _COMMANDS[command]
    return _BY_CATEGORY[all_commands()[command].category]
