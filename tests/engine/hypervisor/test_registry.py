"""Choosing a driver from a host's hypervisor_type; one driver (one connection) per host."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest

from engine.hypervisor import HypervisorError, PowerState
from engine.hypervisor.registry import (
    DriverRegistry,
    HypervisorSettings,
    close_drivers,
    connection_uri,
    driver_for,
)
from engine.hypervisor.simulator import Simulator, SimulatorRegistry
from tests.engine.hypervisor.conftest import PRESET_NAME, import_libvirt


@pytest.fixture
async def registry(node_uri: str) -> AsyncIterator[DriverRegistry]:
    settings = HypervisorSettings(libvirt_uri_template=node_uri, stop_timeout_seconds=1)
    drivers = DriverRegistry(settings, SimulatorRegistry())
    yield drivers
    await drivers.close()


async def test_simulator_hosts(registry: DriverRegistry) -> None:
    first = registry.driver_for("Simulator", "10.0.0.5")
    assert isinstance(first, Simulator)
    assert registry.driver_for("simulator", "10.0.0.5") is first
    assert registry.driver_for("Simulator", "10.0.0.6") is not first


async def test_kvm_hosts_share_one_driver_per_uri(registry: DriverRegistry) -> None:
    import_libvirt()
    from engine.hypervisor.libvirt_driver import LibvirtDriver

    driver = registry.driver_for("KVM", "10.0.0.7", host_name="kvm-7")
    assert isinstance(driver, LibvirtDriver)
    assert driver.host == "kvm-7"
    assert driver.uri == registry.settings.libvirt_uri_template
    assert registry.driver_for("KVM", "10.0.0.7") is driver
    assert await driver.state(PRESET_NAME) is PowerState.STOPPED


def test_unsupported_hypervisor_type(registry: DriverRegistry) -> None:
    with pytest.raises(HypervisorError) as refusal:
        registry.driver_for("VMware", "10.0.0.8")
    assert str(refusal.value) == (
        "hypervisor type VMware is not supported by stackshift's engine (supported: KVM, Simulator)"
    )


@pytest.mark.parametrize(
    ("host_ip", "uri"),
    [
        ("10.1.2.3", "qemu+tcp://10.1.2.3/system"),
        ("fd00::12", "qemu+tcp://[fd00::12]/system"),
    ],
)
def test_connection_uri(host_ip: str, uri: str) -> None:
    assert connection_uri(HypervisorSettings().libvirt_uri_template, host_ip) == uri


@pytest.mark.parametrize("template", ["qemu+tcp://{host}/system", "qemu+tcp://{}/system"])
def test_bad_uri_template(template: str) -> None:
    with pytest.raises(ValueError, match="may use only"):
        HypervisorSettings(libvirt_uri_template=template)


async def test_process_wide_drivers(node_uri: str) -> None:
    import_libvirt()
    settings = HypervisorSettings(libvirt_uri_template=node_uri)
    try:
        driver = driver_for("KVM", "10.0.0.9", settings)
        assert driver_for("KVM", "10.0.0.9", settings) is driver
        assert driver_for("Simulator", "10.0.0.9", settings).host == "10.0.0.9"
    finally:
        await close_drivers()
    assert driver_for("KVM", "10.0.0.9", settings) is not driver
    await close_drivers()


def test_simulator_works_without_libvirt_installed() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["libvirt"] = None  # as if libvirt-python were not installed
        from engine.hypervisor.registry import HypervisorSettings, driver_for
        sim = driver_for("Simulator", "10.0.0.1", HypervisorSettings())
        print(asyncio.run(sim.state("i-2-10-VM")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Missing"
