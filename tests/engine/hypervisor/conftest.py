"""Specs, libvirt test-driver nodes and drivers shared by the hypervisor tests.

Libvirt tests run against libvirt's test driver: a `test:///<file>` URI opens a private
in-process hypervisor described by that node file, so every test gets an isolated host.
They skip when libvirt-python is missing, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from engine.hypervisor import DiskSpec, NicSpec, VmSpec
from engine.hypervisor.simulator import Simulator

if TYPE_CHECKING:
    from engine.hypervisor.libvirt_driver import LibvirtDriver

VM_UUID = "6f1a3b2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
ROOT = DiskSpec("/mnt/primary/6c1e0f6a-root.qcow2", "vda", 8 << 30, "qcow2", 0)
DATA = DiskSpec("/mnt/primary/9d2b7e41-data.raw", "vdb", 20 << 30, "raw", 1)
NIC = NicSpec("02:00:4c:5f:00:01", "cloudbr0", "virtio", 100)

# A predefined domain, so it survives reconnects (each open re-reads the file);
# runstate 5 is VIR_DOMAIN_SHUTOFF (the test driver would start it otherwise).
PRESET_NAME = "i-2-7-VM"
NODE_XML = f"""<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads>
    <active>8</active><mhz>2400</mhz><model>x86_64</model></cpu>
  <memory>16777216</memory>
  <domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0">
    <test:runstate>5</test:runstate>
    <name>{PRESET_NAME}</name>
    <uuid>0b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d</uuid>
    <memory unit="KiB">262144</memory>
    <vcpu>1</vcpu>
    <os><type arch="x86_64">hvm</type></os>
  </domain>
</node>
"""


def make_spec(name: str = "i-2-10-VM", **changes: Any) -> VmSpec:
    """A typical small CloudStack VM: one root disk, one NIC, a console password."""
    fields: dict[str, Any] = {
        "name": name,
        "uuid": VM_UUID,
        "vcpus": 2,
        "cpu_speed_mhz": 1000,
        "memory_mb": 512,
        "disks": (ROOT,),
        "nics": (NIC,),
        "vnc_password": "Vnc-pw-42",
    }
    fields.update(changes)
    return VmSpec(**fields)


def import_libvirt() -> ModuleType:
    """libvirt-python, or a module-level skip (a loud failure under CI=true)."""
    try:
        return importlib.import_module("libvirt")
    except ImportError as error:
        message = f"libvirt-python is not importable: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the libvirt driver tests must run)", pytrace=False)
        pytest.skip(message, allow_module_level=True)


@pytest.fixture
def simulator() -> Simulator:
    return Simulator("10.0.0.11")


@pytest.fixture
def node_uri(tmp_path: Path) -> str:
    """A private libvirt test-driver host for this test."""
    node = tmp_path / "node.xml"
    node.write_text(NODE_XML)
    return f"test://{node}"


@pytest.fixture
async def libvirt_driver(node_uri: str) -> AsyncIterator[LibvirtDriver]:
    import_libvirt()
    from engine.hypervisor.libvirt_driver import LibvirtDriver

    driver = LibvirtDriver(node_uri, "kvm-3", stop_timeout=0.3, poll_interval=0.02)
    yield driver
    await driver.close()
