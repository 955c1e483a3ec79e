"""Hypervisor drivers: one small interface, a Simulator and a libvirt driver for KVM.

This package never touches the database; callers hand it specs and host addresses.
"""

from engine.hypervisor.driver import (
    DiskSpec,
    Driver,
    HypervisorError,
    NicSpec,
    Operation,
    Outcome,
    PowerState,
    VmSpec,
)

__all__ = [
    "DiskSpec",
    "Driver",
    "HypervisorError",
    "NicSpec",
    "Operation",
    "Outcome",
    "PowerState",
    "VmSpec",
]
