"""The libvirt driver against libvirt's test driver: lifecycle, idempotence, disks, errors."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from engine.hypervisor import DiskSpec, Driver, HypervisorError, Outcome, PowerState
from tests.engine.hypervisor.conftest import DATA, PRESET_NAME, ROOT, import_libvirt, make_spec

libvirt = import_libvirt()

from engine.hypervisor.libvirt_driver import LibvirtDriver  # noqa: E402 - needs libvirt first

NAME = "i-2-10-VM"


def _config(driver: LibvirtDriver, name: str) -> ET.Element:
    """The domain's persistent XML with secrets, read through the driver's own connection.

    A second `libvirt.open` of the same test URI would re-read the node file and see none of
    the domains this test defined.
    """
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    text = driver._connection.run(lambda conn: conn.lookupByName(name).XMLDesc(flags))
    return ET.fromstring(text)  # noqa: S314 - libvirt's own output


def test_libvirt_driver_is_a_driver(libvirt_driver: LibvirtDriver) -> None:
    driver: Driver = libvirt_driver
    assert isinstance(driver, Driver)
    assert driver.host == "kvm-3"


async def test_lifecycle(libvirt_driver: LibvirtDriver) -> None:
    driver = libvirt_driver
    assert await driver.state(NAME) is PowerState.MISSING
    assert await driver.define(make_spec()) is Outcome.CHANGED
    assert await driver.state(NAME) is PowerState.STOPPED
    assert await driver.start(NAME) is Outcome.CHANGED
    assert await driver.state(NAME) is PowerState.RUNNING
    assert await driver.reboot(NAME) is Outcome.CHANGED
    assert await driver.state(NAME) is PowerState.RUNNING
    assert await driver.stop(NAME) is Outcome.CHANGED
    assert await driver.state(NAME) is PowerState.STOPPED
    assert await driver.start(NAME) is Outcome.CHANGED
    assert await driver.stop(NAME, forced=True) is Outcome.CHANGED
    assert await driver.state(NAME) is PowerState.STOPPED
    assert await driver.destroy(NAME) is Outcome.CHANGED
    assert await driver.state(NAME) is PowerState.MISSING


async def test_destroy_a_running_vm(libvirt_driver: LibvirtDriver) -> None:
    await libvirt_driver.define(make_spec())
    await libvirt_driver.start(NAME)
    assert await libvirt_driver.destroy(NAME) is Outcome.CHANGED
    assert await libvirt_driver.state(NAME) is PowerState.MISSING


async def test_preset_domain_on_the_node(libvirt_driver: LibvirtDriver) -> None:
    assert await libvirt_driver.state(PRESET_NAME) is PowerState.STOPPED
    assert await libvirt_driver.start(PRESET_NAME) is Outcome.CHANGED


async def test_repeats_are_noops(libvirt_driver: LibvirtDriver) -> None:
    driver = libvirt_driver
    assert await driver.stop(NAME) is Outcome.NOOP
    assert await driver.stop(NAME, forced=True) is Outcome.NOOP
    assert await driver.destroy(NAME) is Outcome.NOOP
    await driver.define(make_spec())
    assert await driver.define(make_spec()) is Outcome.NOOP
    assert await driver.stop(NAME) is Outcome.NOOP
    await driver.start(NAME)
    assert await driver.start(NAME) is Outcome.NOOP
    assert await driver.define(make_spec()) is Outcome.NOOP, "running: same config"
    await driver.stop(NAME)
    assert await driver.stop(NAME) is Outcome.NOOP
    await driver.destroy(NAME)
    assert await driver.destroy(NAME) is Outcome.NOOP


async def test_define_updates_the_config(libvirt_driver: LibvirtDriver) -> None:
    await libvirt_driver.define(make_spec())
    assert await libvirt_driver.define(make_spec(memory_mb=1024, vcpus=4)) is Outcome.CHANGED
    config = _config(libvirt_driver, NAME)
    assert config.findtext("memory") == str(1024 * 1024)
    assert config.findtext("vcpu") == "4"


async def test_define_refuses_a_different_vm_with_the_same_name(
    libvirt_driver: LibvirtDriver,
) -> None:
    await libvirt_driver.define(make_spec())
    other = make_spec(uuid="11111111-2222-4333-8444-555555555555")
    with pytest.raises(HypervisorError) as refusal:
        await libvirt_driver.define(other)
    assert str(refusal.value) == (
        "cannot define i-2-10-VM on host kvm-3: a different domain"
        " (uuid 6f1a3b2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c) already has this name"
    )


async def test_refusals(libvirt_driver: LibvirtDriver) -> None:
    with pytest.raises(HypervisorError) as missing:
        await libvirt_driver.start(NAME)
    assert str(missing.value) == (
        "cannot start i-2-10-VM on host kvm-3: no domain with this name is defined on the host"
    )
    assert (missing.value.operation, missing.value.vm) == ("start", NAME)
    await libvirt_driver.define(make_spec())
    with pytest.raises(HypervisorError, match="cannot reboot i-2-10-VM on host kvm-3: it is not"):
        await libvirt_driver.reboot(NAME)


async def test_libvirt_errors_become_hypervisor_errors(libvirt_driver: LibvirtDriver) -> None:
    # The test driver has no live attach: a genuine libvirt refusal to translate.
    await libvirt_driver.define(make_spec())
    await libvirt_driver.start(NAME)
    with pytest.raises(HypervisorError) as refusal:
        await libvirt_driver.attach_disk(NAME, DATA)
    assert str(refusal.value) == (
        "libvirt on host kvm-3 refused to attach /mnt/primary/9d2b7e41-data.raw as vdb to"
        " i-2-10-VM: this function is not supported by the connection driver:"
        " virDomainAttachDeviceFlags"
    )
    assert refusal.value.operation == "attach_disk"
    assert isinstance(refusal.value.__cause__, libvirt.libvirtError)


async def test_attach_and_detach_on_a_stopped_vm(libvirt_driver: LibvirtDriver) -> None:
    driver = libvirt_driver
    await driver.define(make_spec())
    assert await driver.attach_disk(NAME, DATA) is Outcome.CHANGED
    assert await driver.attach_disk(NAME, DATA) is Outcome.NOOP
    config = _config(driver, NAME)
    targets = [t.get("dev") for t in config.iterfind("devices/disk/target")]
    assert targets == ["vda", "vdb"]
    graphics = config.find("devices/graphics")
    assert graphics is not None
    assert graphics.get("passwd") == "Vnc-pw-42", "the redefinition kept the console password"
    clash = DiskSpec("/mnt/other.qcow2", "vdb", 1)
    with pytest.raises(HypervisorError, match="device vdb already holds /mnt/primary/9d2b"):
        await driver.attach_disk(NAME, clash)
    with pytest.raises(
        HypervisorError, match=r"device vdb holds /mnt/primary/9d2b7e41-data\.raw, not"
    ):
        await driver.detach_disk(NAME, clash)
    assert await driver.detach_disk(NAME, DATA) is Outcome.CHANGED
    assert await driver.detach_disk(NAME, DATA) is Outcome.NOOP
    targets = [t.get("dev") for t in _config(driver, NAME).iterfind("devices/disk/target")]
    assert targets == ["vda"]
    await driver.start(NAME)
    assert await driver.state(NAME) is PowerState.RUNNING


async def test_attach_and_detach_on_a_running_vm_go_live(
    libvirt_driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, int]] = []

    def recorder(kind: str) -> Any:
        def record(_domain: Any, xml: str, flags: int) -> int:
            calls.append((kind, xml, flags))
            return 0

        return record

    # The test driver has no live device changes; record what a KVM host would be asked.
    monkeypatch.setattr(libvirt.virDomain, "attachDeviceFlags", recorder("attach"))
    monkeypatch.setattr(libvirt.virDomain, "detachDeviceFlags", recorder("detach"))
    await libvirt_driver.define(make_spec())
    await libvirt_driver.start(NAME)
    assert await libvirt_driver.attach_disk(NAME, DATA) is Outcome.CHANGED
    assert await libvirt_driver.detach_disk(NAME, ROOT) is Outcome.CHANGED
    live_and_config = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
    assert [(c[0], c[2]) for c in calls] == [
        ("attach", live_and_config),
        ("detach", live_and_config),
    ]
    assert 'dev="vdb"' in calls[0][1]
    assert ROOT.path in calls[1][1]


async def test_graceful_stop_powers_off_a_guest_that_ignores_acpi(
    libvirt_driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    requests: list[str] = []

    def ignored_shutdown(domain: Any) -> int:
        requests.append(domain.name())
        return 0

    monkeypatch.setattr(libvirt.virDomain, "shutdown", ignored_shutdown)
    await libvirt_driver.define(make_spec())
    await libvirt_driver.start(NAME)
    with caplog.at_level(logging.WARNING):
        assert await libvirt_driver.stop(NAME) is Outcome.CHANGED
    assert requests == [NAME]
    assert await libvirt_driver.state(NAME) is PowerState.STOPPED
    assert "i-2-10-VM on host kvm-3 ignored the shutdown request" in caplog.text


async def test_the_vnc_password_never_leaks_into_errors(
    libvirt_driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = "<domain type='test'><graphics type='vnc' passwd='Vnc-pw-42' bogus</domain>"
    monkeypatch.setattr(libvirt_driver, "domain_xml", lambda _spec: broken)
    with pytest.raises(HypervisorError) as refusal:
        await libvirt_driver.define(make_spec())
    assert "Vnc-pw-42" not in str(refusal.value)
    assert "passwd='***'" in str(refusal.value)
    assert "\n" not in str(refusal.value)
    assert refusal.value.__cause__ is None, "the chained libvirt error would carry the password"


async def test_unreachable_host() -> None:
    driver = LibvirtDriver("qemu+tcp://127.0.0.1:1/system", "kvm-9")
    try:
        with pytest.raises(HypervisorError) as failure:
            await driver.state(NAME)
    finally:
        await driver.close()
    message = str(failure.value)
    assert message.startswith(
        "cannot reach libvirt on host kvm-9 (qemu+tcp://127.0.0.1:1/system)"
        " to read the power state of i-2-10-VM: "
    )
    assert "Connection refused" in message


def _recording_opener(opened: list[Any]) -> Any:
    def opener(uri: str) -> Any:
        conn = libvirt.open(uri)
        opened.append(conn)
        return conn

    return opener


async def test_reconnects_when_the_connection_was_closed(node_uri: str) -> None:
    opened: list[Any] = []
    driver = LibvirtDriver(node_uri, "kvm-3", opener=_recording_opener(opened))
    try:
        assert await driver.state(PRESET_NAME) is PowerState.STOPPED
        opened[0].close()
        assert await driver.state(PRESET_NAME) is PowerState.STOPPED
        assert len(opened) == 2
    finally:
        await driver.close()


async def test_retries_once_when_the_connection_drops_mid_call(
    node_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    original = libvirt.virDomain.create

    def create_after_a_drop(self: Any) -> Any:
        if len(opened) == 1:  # the first attempt loses its connection, as on a network cut
            opened[0].close()
            raise libvirt.libvirtError("End of file while reading data: Input/output error")
        return original(self)

    monkeypatch.setattr(libvirt.virDomain, "create", create_after_a_drop)
    driver = LibvirtDriver(node_uri, "kvm-3", opener=_recording_opener(opened))
    try:
        assert await driver.start(PRESET_NAME) is Outcome.CHANGED
        assert await driver.state(PRESET_NAME) is PowerState.RUNNING
        assert len(opened) == 2
    finally:
        await driver.close()


def _slow_create(monkeypatch: pytest.MonkeyPatch, seconds: float) -> list[str]:
    """Make domain starts block like a real host; returns the threads they ran on."""
    threads: list[str] = []
    original = libvirt.virDomain.create

    def slow(self: Any) -> Any:
        threads.append(threading.current_thread().name)
        time.sleep(seconds)
        return original(self)

    monkeypatch.setattr(libvirt.virDomain, "create", slow)
    return threads


async def test_blocking_calls_run_off_the_event_loop(
    libvirt_driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = _slow_create(monkeypatch, 0.3)
    await libvirt_driver.define(make_spec())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await libvirt_driver.start(NAME)
    task.cancel()
    assert ticks >= 10, "the event loop kept running while libvirt blocked"
    assert threads == [threads[0]]
    assert threads[0].startswith("libvirt-kvm-3")


async def test_operations_on_several_vms_overlap(
    libvirt_driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"i-2-{n}-VM" for n in range(20, 24)]
    uuids = [f"00000000-0000-4000-8000-0000000000{n}" for n in range(20, 24)]
    for name, uuid in zip(names, uuids, strict=True):
        await libvirt_driver.define(make_spec(name, uuid=uuid))
    threads = _slow_create(monkeypatch, 0.2)
    started = time.monotonic()
    outcomes = await asyncio.gather(*(libvirt_driver.start(name) for name in names))
    assert outcomes == [Outcome.CHANGED] * 4
    assert time.monotonic() - started < 0.6, "four 0.2 s starts ran on four threads"
    assert len(set(threads)) == 4
