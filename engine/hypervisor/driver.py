"""The hypervisor driver interface: VM specs, power states, outcomes and the one error type.

Lifecycle steps retry after crashes, so every operation is idempotent: repeating an operation
whose effect is already in place reports `Outcome.NOOP` instead of failing.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

DiskFormat = Literal["qcow2", "raw"]
BootDevice = Literal["hd", "cdrom", "network"]

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_DEVICE = re.compile(r"^(vd|sd|hd)[a-z]{1,2}$")
# Linux limits interface names to 15 bytes; a longer bridge name can never exist on a host.
_BRIDGE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")


class PowerState(StrEnum):
    RUNNING = "Running"
    STOPPED = "Stopped"
    MISSING = "Missing"


class Outcome(StrEnum):
    """What an operation did: lifecycle steps log no-ops when they resume after a crash."""

    CHANGED = "changed"
    NOOP = "no-op"


class Operation(StrEnum):
    DEFINE = "define"
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    DESTROY = "destroy"
    STATE = "state"
    ATTACH_DISK = "attach_disk"
    DETACH_DISK = "detach_disk"

    def phrase(self, vm: str) -> str:
        """The operation on `vm` as words for messages: 'read the power state of i-2-10-VM'."""
        if self is Operation.STATE:
            return f"read the power state of {vm}"
        if self is Operation.ATTACH_DISK:
            return f"attach a disk to {vm}"
        if self is Operation.DETACH_DISK:
            return f"detach a disk from {vm}"
        return f"{self.value} {vm}"


class HypervisorError(Exception):
    """A hypervisor refused or failed an operation; `str()` is one line a sysadmin can act on."""

    def __init__(self, operation: str, vm: str | None, message: str) -> None:
        self.operation = operation
        self.vm = vm
        # Hypervisor messages may span lines (libvirt XML errors do); logs want one line.
        self.message = " ".join(message.split())
        super().__init__(self.message)


@dataclass(frozen=True)
class DiskSpec:
    """One volume attached as a file-backed disk; `device` is the guest target (vda, vdb...)."""

    path: str
    device: str
    size_bytes: int
    format: DiskFormat = "qcow2"
    device_id: int = 0

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"disk path must be absolute, got {self.path!r}")
        if not _DEVICE.match(self.device):
            raise ValueError(f"disk device must look like vda/sdb/hdc, got {self.device!r}")
        if self.format not in ("qcow2", "raw"):
            raise ValueError(f"disk format must be qcow2 or raw, got {self.format!r}")
        if self.size_bytes < 0 or self.device_id < 0:
            raise ValueError("disk size_bytes and device_id must not be negative")


@dataclass(frozen=True)
class NicSpec:
    """One NIC on a host bridge, with the MAC address CloudStack allocated for it.

    `vlan` is informational on KVM: CloudStack's agent gives each VLAN its own bridge, so the
    bridge already carries the tag and libvirt refuses a vlan tag on a Linux bridge.
    """

    mac: str
    bridge: str
    model: str = "virtio"
    vlan: int | None = None

    def __post_init__(self) -> None:
        if not _MAC.match(self.mac):
            raise ValueError(f"NIC mac must be lower-case aa:bb:cc:dd:ee:ff, got {self.mac!r}")
        if not _BRIDGE.match(self.bridge):
            raise ValueError(f"NIC bridge must be a host interface name, got {self.bridge!r}")
        if self.vlan is not None and not 0 <= self.vlan <= 4094:
            raise ValueError(f"NIC vlan must be 0-4094, got {self.vlan}")


@dataclass(frozen=True)
class VmSpec:
    """Everything a hypervisor needs to define a VM; `name` is CloudStack's instance name."""

    name: str
    uuid: str
    vcpus: int
    cpu_speed_mhz: int
    memory_mb: int
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    # repr=False keeps the console password out of logs, tracebacks and assertion output.
    vnc_password: str | None = field(default=None, repr=False)
    boot_order: tuple[BootDevice, ...] = ("hd",)

    def __post_init__(self) -> None:
        if not self.name or any(ch.isspace() or ch == "/" for ch in self.name):
            raise ValueError(f"VM name must be non-empty without spaces or '/', got {self.name!r}")
        if not _is_canonical_uuid(self.uuid):
            # libvirt reports uuids in this form; define compares them as strings.
            raise ValueError(f"VM uuid must be a lower-case canonical uuid, got {self.uuid!r}")
        if self.vnc_password == "":
            raise ValueError("vnc_password must be None (no password) or non-empty")
        if self.vcpus < 1 or self.cpu_speed_mhz < 1 or self.memory_mb < 1:
            raise ValueError("vcpus, cpu_speed_mhz and memory_mb must be positive")
        devices = [disk.device for disk in self.disks]
        if len(set(devices)) != len(devices):
            raise ValueError(f"disk devices must be distinct, got {devices}")
        macs = [nic.mac for nic in self.nics]
        if len(set(macs)) != len(macs):
            raise ValueError(f"NIC macs must be distinct, got {macs}")
        if not self.boot_order or any(b not in ("hd", "cdrom", "network") for b in self.boot_order):
            raise ValueError(f"boot order must list hd/cdrom/network, got {self.boot_order}")


def _is_canonical_uuid(text: str) -> bool:
    try:
        return str(uuid_module.UUID(text)) == text
    except ValueError:
        return False


@runtime_checkable
class Driver(Protocol):
    """One host's hypervisor. Every method is idempotent; see the module docstring."""

    @property
    def host(self) -> str:
        """The host as named in messages (its name, else its IP address)."""
        ...

    async def define(self, spec: VmSpec) -> Outcome:
        """Create the VM's definition, or update it if it changed; refuse a name clash."""
        ...

    async def start(self, name: str) -> Outcome:
        """Power on a defined VM."""
        ...

    async def stop(self, name: str, forced: bool = False) -> Outcome:
        """Power off: an ACPI shutdown, forced off after a timeout; `forced` cuts power now."""
        ...

    async def reboot(self, name: str) -> Outcome:
        """Reboot a running VM; a VM that is not running is an error."""
        ...

    async def destroy(self, name: str) -> Outcome:
        """Power off if needed and remove the definition; disk files are left alone."""
        ...

    async def state(self, name: str) -> PowerState: ...

    async def attach_disk(self, name: str, disk: DiskSpec) -> Outcome:
        """Attach a disk, live when running and in the definition either way."""
        ...

    async def detach_disk(self, name: str, disk: DiskSpec) -> Outcome:
        """Detach the disk at `disk.device`, refusing if that device holds another file."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...
