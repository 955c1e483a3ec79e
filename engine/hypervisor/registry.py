"""Picks a host's driver from its hypervisor_type and keeps one driver (one connection) per host."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.hypervisor.driver import Driver, HypervisorError
from engine.hypervisor.simulator import SimulatorRegistry, simulators

if TYPE_CHECKING:
    from engine.hypervisor.libvirt_driver import LibvirtDriver

SUPPORTED = ("KVM", "Simulator")


def connection_uri(template: str, host_ip: str) -> str:
    """The host's libvirt URI from a template such as `qemu+tcp://{host_ip}/system`."""
    # An IPv6 literal needs brackets inside a URI authority.
    address = f"[{host_ip}]" if ":" in host_ip else host_ip
    return template.format(host_ip=address)


@dataclass(frozen=True)
class HypervisorSettings:
    """How the engine reaches hypervisors; the composition root fills it from its config."""

    libvirt_uri_template: str = "qemu+tcp://{host_ip}/system"
    stop_timeout_seconds: float = 60.0
    libvirt_threads: int = 4

    def __post_init__(self) -> None:
        try:
            connection_uri(self.libvirt_uri_template, "192.0.2.1")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"libvirt URI template {self.libvirt_uri_template!r} may use only {{host_ip}}"
            ) from error
        if self.stop_timeout_seconds < 0 or self.libvirt_threads < 1:
            raise ValueError("stop_timeout_seconds must be >= 0 and libvirt_threads >= 1")


class DriverRegistry:
    """The drivers of one process, created on first use and kept until `close()`."""

    def __init__(self, settings: HypervisorSettings, sims: SimulatorRegistry = simulators) -> None:
        self.settings = settings
        self._simulators = sims
        self._lock = threading.Lock()
        self._libvirt: dict[str, LibvirtDriver] = {}

    def driver_for(
        self, hypervisor_type: str, host_ip: str, host_name: str | None = None
    ) -> Driver:
        """The driver for a host row's hypervisor_type; `host_name` only improves messages."""
        kind = next((s for s in SUPPORTED if s.lower() == hypervisor_type.lower()), None)
        if kind == "Simulator":
            return self._simulators.host(host_ip)
        if kind == "KVM":
            return self._libvirt_driver(host_ip, host_name or host_ip)
        raise HypervisorError(
            "driver",
            None,
            f"hypervisor type {hypervisor_type} is not supported by stackshift's engine"
            f" (supported: {', '.join(SUPPORTED)})",
        )

    async def close(self) -> None:
        with self._lock:
            drivers, self._libvirt = list(self._libvirt.values()), {}
        for driver in drivers:
            await driver.close()

    def _libvirt_driver(self, host_ip: str, host_name: str) -> LibvirtDriver:
        # Imported here so Simulator-only deployments work without libvirt-python installed.
        from engine.hypervisor.libvirt_driver import LibvirtDriver

        uri = connection_uri(self.settings.libvirt_uri_template, host_ip)
        with self._lock:
            if uri not in self._libvirt:
                self._libvirt[uri] = LibvirtDriver(
                    uri,
                    host_name,
                    stop_timeout=self.settings.stop_timeout_seconds,
                    threads=self.settings.libvirt_threads,
                )
            return self._libvirt[uri]


_registries: dict[HypervisorSettings, DriverRegistry] = {}
_registries_lock = threading.Lock()


def driver_for(
    hypervisor_type: str, host_ip: str, settings: HypervisorSettings, host_name: str | None = None
) -> Driver:
    """The process-wide driver for a host: one per host, so one libvirt connection per URI."""
    with _registries_lock:
        registry = _registries.setdefault(settings, DriverRegistry(settings))
    return registry.driver_for(hypervisor_type, host_ip, host_name)


async def close_drivers() -> None:
    """Close every process-wide driver (at shutdown, and between tests)."""
    with _registries_lock:
        registries = list(_registries.values())
        _registries.clear()
    for registry in registries:
        await registry.close()
