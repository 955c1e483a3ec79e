"""VM specs refuse nonsense early, keep the console password out of reprs; errors are one line."""

from __future__ import annotations

from typing import Any

import pytest

from engine.hypervisor import DiskSpec, HypervisorError, NicSpec
from tests.engine.hypervisor.conftest import ROOT, make_spec


def test_repr_hides_the_vnc_password() -> None:
    spec = make_spec(vnc_password="Vnc-pw-42")
    assert "Vnc-pw-42" not in repr(spec)
    assert "Vnc-pw-42" not in str(spec)


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"name": ""}, "VM name"),
        ({"name": "i-2 10"}, "VM name"),
        ({"uuid": "not-a-uuid"}, "uuid"),
        ({"uuid": "6F1A3B2C-0D4E-4F5A-8B6C-7D8E9F0A1B2C"}, "lower-case canonical uuid"),
        ({"vcpus": 0}, "positive"),
        ({"memory_mb": -1}, "positive"),
        ({"disks": (ROOT, ROOT)}, "disk devices must be distinct"),
        ({"nics": (NicSpec("02:00:00:00:00:01", "br0"),) * 2}, "NIC macs must be distinct"),
        ({"boot_order": ()}, "boot order"),
        ({"boot_order": ("floppy",)}, "boot order"),
        ({"vnc_password": ""}, "vnc_password"),
    ],
)
def test_vm_spec_validation(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        make_spec(**changes)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (("relative.qcow2", "vda", 1), "absolute"),
        (("/a.qcow2", "xvda", 1), "vda/sdb/hdc"),
        (("/a.qcow2", "vda", 1, "vmdk"), "qcow2 or raw"),
        (("/a.qcow2", "vda", -1), "negative"),
    ],
)
def test_disk_spec_validation(arguments: tuple[Any, ...], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        DiskSpec(*arguments)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (("02:00:4C:5F:00:01", "cloudbr0"), "lower-case"),
        (("02:00:4c:5f:00", "cloudbr0"), "lower-case"),
        (("02:00:4c:5f:00:01", "a-bridge-name-too-long"), "host interface name"),
        (("02:00:4c:5f:00:01", "br0", "virtio", 4095), "0-4094"),
    ],
)
def test_nic_spec_validation(arguments: tuple[Any, ...], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        NicSpec(*arguments)


def test_hypervisor_error_is_one_line() -> None:
    error = HypervisorError("define", "i-2-10-VM", "libvirt said:\n  line one\n\tline two ")
    assert str(error) == "libvirt said: line one line two"
    assert (error.operation, error.vm) == ("define", "i-2-10-VM")
