"""Pure edits of a domain XML that libvirt gave back: read, add and remove file disks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.hypervisor.domain_xml import disk_element, serialize
from engine.hypervisor.driver import DiskSpec


def disk_sources(xml: str) -> dict[str, str]:
    """Guest device → source file of every file-backed disk in the domain."""
    sources: dict[str, str] = {}
    for disk in _parse(xml).iterfind("./devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        if target is not None and source is not None:
            sources[target.get("dev", "")] = source.get("file", "")
    return sources


def with_disk(xml: str, disk: DiskSpec) -> str:
    """The domain with `disk` appended after its last disk."""
    domain = _parse(xml)
    devices = _devices(domain)
    existing = devices.findall("disk")
    position = list(devices).index(existing[-1]) + 1 if existing else 0
    devices.insert(position, disk_element(disk))
    return serialize(domain)


def without_disk(xml: str, device: str) -> str:
    """The domain without the disk whose target is `device` (unchanged if there is none)."""
    domain = _parse(xml)
    devices = _devices(domain)
    for disk in devices.findall("disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == device:
            devices.remove(disk)
    return serialize(domain)


def _parse(xml: str) -> ET.Element:
    # The text comes from libvirt itself (XMLDesc), not from users, so expat is safe here.
    return ET.fromstring(xml)  # noqa: S314


def _devices(domain: ET.Element) -> ET.Element:
    devices = domain.find("devices")
    if devices is None:
        devices = ET.SubElement(domain, "devices")
    return devices
