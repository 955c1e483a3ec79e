"""Libvirt domain XML from a VM spec: pure functions, same spec in, same bytes out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Literal

from engine.hypervisor.driver import DiskSpec, NicSpec, VmSpec

DomainType = Literal["kvm", "qemu", "test"]

_VNC_LISTEN = "0.0.0.0"  # noqa: S104 - VNC must be reachable by the console proxy VM.


def domain_xml(
    spec: VmSpec,
    *,
    domain_type: DomainType = "kvm",
    arch: str = "x86_64",
    machine: str = "pc",
) -> str:
    """The libvirt domain XML for `spec`; `domain_type` is 'test' on libvirt's test driver."""
    domain = ET.Element("domain", type=domain_type)
    _text(domain, "name", spec.name)
    _text(domain, "uuid", spec.uuid)
    memory_kib = str(spec.memory_mb * 1024)
    _text(domain, "memory", memory_kib, unit="KiB")
    _text(domain, "currentMemory", memory_kib, unit="KiB")
    _text(domain, "vcpu", str(spec.vcpus), placement="static")
    # CloudStack's KVM agent gives a guest cpu shares of vcpus x MHz, so a busy host divides
    # its CPU in proportion to the service offerings; we keep that rule for parity.
    cputune = ET.SubElement(domain, "cputune")
    _text(cputune, "shares", str(spec.vcpus * spec.cpu_speed_mhz))
    domain.append(_os(spec, arch, machine))
    features = ET.SubElement(domain, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    ET.SubElement(domain, "clock", offset="utc")
    _text(domain, "on_poweroff", "destroy")
    _text(domain, "on_reboot", "restart")
    _text(domain, "on_crash", "destroy")
    domain.append(_devices(spec))
    return serialize(domain)


def disk_element(disk: DiskSpec) -> ET.Element:
    """A `<disk>` for one file-backed volume on the virtio bus."""
    element = ET.Element("disk", type="file", device="disk")
    # cache='none' is what CloudStack uses for file volumes: safe for live migration and
    # no double caching in the host page cache.
    ET.SubElement(element, "driver", name="qemu", type=disk.format, cache="none")
    ET.SubElement(element, "source", file=disk.path)
    ET.SubElement(element, "target", dev=disk.device, bus=_bus(disk.device))
    return element


def disk_xml(disk: DiskSpec) -> str:
    """The `<disk>` element alone, as attachDevice expects it."""
    return serialize(disk_element(disk))


def serialize(element: ET.Element) -> str:
    """Indented XML text with a final newline; deterministic for a given tree."""
    ET.indent(element, space="  ")
    return ET.tostring(element, encoding="unicode") + "\n"


def _os(spec: VmSpec, arch: str, machine: str) -> ET.Element:
    os_element = ET.Element("os")
    _text(os_element, "type", "hvm", arch=arch, machine=machine)
    for device in spec.boot_order:
        ET.SubElement(os_element, "boot", dev=device)
    return os_element


def _devices(spec: VmSpec) -> ET.Element:
    devices = ET.Element("devices")
    for disk in sorted(spec.disks, key=lambda d: (d.device_id, d.device)):
        devices.append(disk_element(disk))
    for nic in spec.nics:
        devices.append(_interface(nic))
    serial = ET.SubElement(devices, "serial", type="pty")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    devices.append(_graphics(spec.vnc_password))
    return devices


def _interface(nic: NicSpec) -> ET.Element:
    interface = ET.Element("interface", type="bridge")
    ET.SubElement(interface, "mac", address=nic.mac)
    ET.SubElement(interface, "source", bridge=nic.bridge)
    ET.SubElement(interface, "model", type=nic.model)
    return interface


def _graphics(password: str | None) -> ET.Element:
    graphics = ET.Element("graphics", type="vnc", port="-1", autoport="yes", listen=_VNC_LISTEN)
    if password is not None:
        graphics.set("passwd", password)
    ET.SubElement(graphics, "listen", type="address", address=_VNC_LISTEN)
    return graphics


def _bus(device: str) -> str:
    return {"vd": "virtio", "sd": "scsi", "hd": "ide"}[device[:2]]


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element
