"""The blocking libvirt calls behind each driver operation, run in worker threads.

Each function looks the domain up afresh (a reconnect invalidates old domain handles), checks
whether the wanted effect is already there (idempotence), acts, and on a libvirt error checks
again: a concurrent change that reached the same end state is a no-op, not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libvirt

from engine.hypervisor.domain_edit import disk_sources, with_disk, without_disk
from engine.hypervisor.domain_xml import disk_xml
from engine.hypervisor.driver import DiskSpec, Outcome, PowerState

# Persistent config including secrets (the VNC password), so a redefinition keeps them.
_CONFIG_XML = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
_LIVE_AND_CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
# Managed-save images and snapshot metadata would otherwise make undefine refuse.
_UNDEFINE = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
)


class RefusedError(Exception):
    """stackshift itself declines the operation; the message says why in plain words."""


def lookup(conn: Any, name: str) -> Any | None:
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def power_state(conn: Any, name: str) -> PowerState:
    domain = lookup(conn, name)
    if domain is None:
        return PowerState.MISSING
    # Paused, suspended or shutting-down guests still hold the host's memory: Running.
    return PowerState.RUNNING if domain.isActive() else PowerState.STOPPED


def define(conn: Any, name: str, uuid: str, xml: str) -> Outcome:
    existing = lookup(conn, name)
    if existing is None:
        conn.defineXML(xml)
        return Outcome.CHANGED
    if existing.UUIDString() != uuid:
        raise RefusedError(
            f"a different domain (uuid {existing.UUIDString()}) already has this name"
        )
    before = existing.XMLDesc(_CONFIG_XML)
    # Redefining the same uuid replaces the persistent config (a running guest sees it at
    # its next boot); comparing libvirt's own rendering tells whether anything changed.
    after = conn.defineXML(xml).XMLDesc(_CONFIG_XML)
    return Outcome.NOOP if before == after else Outcome.CHANGED


def start(conn: Any, name: str) -> Outcome:
    domain = _require(conn, name)
    return _unless_active(domain, wanted=True, action=domain.create)


def shutdown(conn: Any, name: str) -> Outcome:
    """Ask the guest to shut down (ACPI); it may take a while or ignore the request."""
    domain = lookup(conn, name)
    if domain is None:
        return Outcome.NOOP
    return _unless_active(domain, wanted=False, action=domain.shutdown)


def power_off(conn: Any, name: str) -> Outcome:
    domain = lookup(conn, name)
    if domain is None:
        return Outcome.NOOP
    return _unless_active(domain, wanted=False, action=domain.destroy)


def reboot(conn: Any, name: str) -> Outcome:
    domain = _require(conn, name)
    if not domain.isActive():
        raise RefusedError("it is not running")
    domain.reboot(0)
    return Outcome.CHANGED


def destroy(conn: Any, name: str) -> Outcome:
    """Power off and undefine; the disk files belong to the storage subsystem and stay."""
    domain = lookup(conn, name)
    if domain is None:
        return Outcome.NOOP
    _unless_active(domain, wanted=False, action=domain.destroy)
    try:
        domain.undefineFlags(_UNDEFINE)
    except libvirt.libvirtError:
        if lookup(conn, name) is not None:
            raise
    return Outcome.CHANGED


def attach_disk(conn: Any, name: str, disk: DiskSpec) -> Outcome:
    domain = _require(conn, name)
    held = disk_sources(domain.XMLDesc(0)).get(disk.device)
    if held == disk.path:
        return Outcome.NOOP
    if held is not None:
        raise RefusedError(f"device {disk.device} already holds {held}")
    if domain.isActive():
        domain.attachDeviceFlags(disk_xml(disk), _LIVE_AND_CONFIG)
    else:
        # Editing the stopped domain's definition works on every libvirt driver, including
        # the test driver, which has no attachDevice.
        conn.defineXML(with_disk(domain.XMLDesc(_CONFIG_XML), disk))
    return Outcome.CHANGED


def detach_disk(conn: Any, name: str, disk: DiskSpec) -> Outcome:
    domain = _require(conn, name)
    held = disk_sources(domain.XMLDesc(0)).get(disk.device)
    if held is None:
        return Outcome.NOOP
    if held != disk.path:
        raise RefusedError(f"device {disk.device} holds {held}, not {disk.path}")
    if domain.isActive():
        domain.detachDeviceFlags(disk_xml(disk), _LIVE_AND_CONFIG)
    else:
        conn.defineXML(without_disk(domain.XMLDesc(_CONFIG_XML), disk.device))
    return Outcome.CHANGED


def _require(conn: Any, name: str) -> Any:
    domain = lookup(conn, name)
    if domain is None:
        raise RefusedError("no domain with this name is defined on the host")
    return domain


def _unless_active(domain: Any, *, wanted: bool, action: Callable[[], Any]) -> Outcome:
    """Run `action` unless the domain is already (in)active as wanted."""
    if bool(domain.isActive()) is wanted:
        return Outcome.NOOP
    try:
        action()
    except libvirt.libvirtError:
        if bool(domain.isActive()) is not wanted:
            raise
        return Outcome.NOOP  # someone else got there first; the end state is what we wanted
    return Outcome.CHANGED
