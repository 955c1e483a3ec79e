"""Domain XML: byte-for-byte goldens, determinism, escaping, and libvirt accepting the result.

Regenerate the goldens after an intended change with
`STACKSHIFT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/engine/hypervisor/test_domain_xml.py`
and review the diff.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.hypervisor import DiskSpec, NicSpec, VmSpec
from engine.hypervisor.domain_edit import disk_sources, with_disk, without_disk
from engine.hypervisor.domain_xml import DomainType, disk_xml, domain_xml
from tests.engine.hypervisor.conftest import DATA, NIC, ROOT, import_libvirt

GOLDEN = Path(__file__).parent / "golden"

MINIMAL = VmSpec(
    name="i-2-10-VM",
    uuid="6f1a3b2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c",
    vcpus=1,
    cpu_speed_mhz=500,
    memory_mb=256,
    disks=(ROOT,),
)
FULL = VmSpec(
    name="i-3-42-VM",
    uuid="a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
    vcpus=4,
    cpu_speed_mhz=2000,
    memory_mb=8192,
    # Given out of order: the XML lists disks by device_id.
    disks=(DATA, ROOT),
    nics=(NIC, NicSpec("1e:00:a2:00:00:2f", "brenp1s0-512", "e1000", 512)),
    vnc_password="Vnc-pw-42",
    boot_order=("cdrom", "hd"),
)
AWKWARD = VmSpec(
    name="r-7-VM",
    uuid="0f0e0d0c-0b0a-4908-8706-050403020100",
    vcpus=1,
    cpu_speed_mhz=500,
    memory_mb=128,
    disks=(DiskSpec("/mnt/pool & <odd> 'quoted' \"dir\"/root.raw", "vda", 1 << 30, "raw"),),
    vnc_password="p&<>\"'w",
)
CASES: list[tuple[str, VmSpec, DomainType]] = [
    ("minimal.kvm", MINIMAL, "kvm"),
    ("full.kvm", FULL, "kvm"),
    ("full.test", FULL, "test"),
    ("escaping.kvm", AWKWARD, "kvm"),
]


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own output and libvirt's


@pytest.mark.parametrize(("golden", "spec", "domain_type"), CASES, ids=[c[0] for c in CASES])
def test_golden(golden: str, spec: VmSpec, domain_type: DomainType) -> None:
    produced = domain_xml(spec, domain_type=domain_type)
    path = GOLDEN / f"{golden}.xml"
    if os.environ.get("STACKSHIFT_UPDATE_GOLDEN") == "1":
        path.write_text(produced, encoding="utf-8")
    assert produced == path.read_text(encoding="utf-8")


def test_same_spec_same_bytes() -> None:
    rebuilt = VmSpec(**{field: getattr(FULL, field) for field in FULL.__dataclass_fields__})
    assert domain_xml(rebuilt) == domain_xml(FULL)
    assert domain_xml(FULL) == domain_xml(FULL)


def test_escaped_values_round_trip() -> None:
    root = _parse(domain_xml(AWKWARD))
    source = root.find("./devices/disk/source")
    graphics = root.find("./devices/graphics")
    assert source is not None
    assert graphics is not None
    assert source.get("file") == AWKWARD.disks[0].path
    assert graphics.get("passwd") == AWKWARD.vnc_password


def test_no_password_no_passwd_attribute() -> None:
    graphics = _parse(domain_xml(MINIMAL)).find("./devices/graphics")
    assert graphics is not None
    assert "passwd" not in graphics.attrib
    assert graphics.get("listen") == "0.0.0.0"  # noqa: S104 - the console proxy connects


def test_disk_xml_alone() -> None:
    assert disk_xml(DATA) == (
        '<disk type="file" device="disk">\n'
        '  <driver name="qemu" type="raw" cache="none" />\n'
        '  <source file="/mnt/primary/9d2b7e41-data.raw" />\n'
        '  <target dev="vdb" bus="virtio" />\n'
        "</disk>\n"
    )


def test_domain_edits() -> None:
    xml = domain_xml(MINIMAL)
    assert disk_sources(xml) == {"vda": ROOT.path}
    grown = with_disk(xml, DATA)
    assert disk_sources(grown) == {"vda": ROOT.path, "vdb": DATA.path}
    devices = _parse(grown).find("devices")
    assert devices is not None
    assert [child.tag for child in devices][:3] == ["disk", "disk", "serial"]
    assert disk_sources(without_disk(grown, "vda")) == {"vdb": DATA.path}
    assert without_disk(grown, "vdz") == grown


def test_libvirt_accepts_the_xml_and_keeps_what_matters(node_uri: str) -> None:
    libvirt = import_libvirt()
    conn = libvirt.open(node_uri)
    try:
        domain = conn.defineXML(domain_xml(FULL, domain_type="test"))
        parsed = _parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
    finally:
        conn.close()
    assert parsed.findtext("name") == FULL.name
    assert parsed.findtext("uuid") == FULL.uuid
    assert parsed.findtext("memory") == str(FULL.memory_mb * 1024)
    assert parsed.findtext("vcpu") == str(FULL.vcpus)
    assert parsed.findtext("cputune/shares") == "8000"
    macs = [mac.get("address") for mac in parsed.iterfind("devices/interface/mac")]
    assert macs == [nic.mac for nic in FULL.nics]
    bridges = [src.get("bridge") for src in parsed.iterfind("devices/interface/source")]
    assert bridges == ["cloudbr0", "brenp1s0-512"]
    targets = [t.get("dev") for t in parsed.iterfind("devices/disk/target")]
    files = [s.get("file") for s in parsed.iterfind("devices/disk/source")]
    formats = [d.get("type") for d in parsed.iterfind("devices/disk/driver")]
    assert (targets, files, formats) == (["vda", "vdb"], [ROOT.path, DATA.path], ["qcow2", "raw"])
    assert [b.get("dev") for b in parsed.iterfind("os/boot")] == ["cdrom", "hd"]
    graphics = parsed.find("devices/graphics")
    assert graphics is not None
    assert graphics.get("passwd") == FULL.vnc_password


def test_libvirt_accepts_awkward_values(node_uri: str) -> None:
    libvirt = import_libvirt()
    conn = libvirt.open(node_uri)
    try:
        domain = conn.defineXML(domain_xml(AWKWARD, domain_type="test"))
        parsed = _parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
    finally:
        conn.close()
    source = parsed.find("devices/disk/source")
    assert source is not None
    assert source.get("file") == AWKWARD.disks[0].path
