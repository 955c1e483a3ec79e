"""The libvirt Driver for KVM hosts: blocking libvirt calls on a per-host thread pool.

The event loop never waits on libvirt: each operation runs as one function in the driver's
executor, over the host's single reconnecting connection. Libvirt's errors become
HypervisorError naming the host, the VM and libvirt's own words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import libvirt

from engine.hypervisor import libvirt_ops
from engine.hypervisor.domain_xml import DomainType, domain_xml
from engine.hypervisor.driver import (
    DiskSpec,
    HypervisorError,
    Operation,
    Outcome,
    PowerState,
    VmSpec,
)
from engine.hypervisor.libvirt_connection import (
    LibvirtConnection,
    LibvirtUnreachableError,
    Opener,
    error_message,
)

T = TypeVar("T")

log = logging.getLogger(__name__)


class LibvirtDriver:
    """A Driver for one libvirt host (KVM, or libvirt's test driver in tests)."""

    def __init__(
        self,
        uri: str,
        host: str,
        *,
        stop_timeout: float = 60.0,
        poll_interval: float = 0.5,
        threads: int = 4,
        opener: Opener | None = None,
    ) -> None:
        self._host = host
        self._connection = LibvirtConnection(uri, opener)
        # libvirt's test driver refuses nothing, but its domains say type='test' honestly.
        self._domain_type: DomainType = "test" if uri.startswith("test:") else "kvm"
        self._stop_timeout = stop_timeout
        self._poll_interval = poll_interval
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix=f"libvirt-{host}")

    @property
    def host(self) -> str:
        return self._host

    @property
    def uri(self) -> str:
        return self._connection.uri

    def domain_xml(self, spec: VmSpec) -> str:
        """The XML `define` sends for `spec` on this host."""
        return domain_xml(spec, domain_type=self._domain_type)

    async def define(self, spec: VmSpec) -> Outcome:
        work = partial(
            libvirt_ops.define, name=spec.name, uuid=spec.uuid, xml=self.domain_xml(spec)
        )
        return await self._call(Operation.DEFINE, spec.name, work, secret=spec.vnc_password)

    async def start(self, name: str) -> Outcome:
        return await self._call(Operation.START, name, partial(libvirt_ops.start, name=name))

    async def stop(self, name: str, forced: bool = False) -> Outcome:
        if forced:
            return await self._call(Operation.STOP, name, partial(libvirt_ops.power_off, name=name))
        requested = await self._call(Operation.STOP, name, partial(libvirt_ops.shutdown, name=name))
        if requested is Outcome.NOOP or await self._stopped_within(name, self._stop_timeout):
            return requested
        # Like CloudStack's KVM agent: a guest that ignores ACPI is powered off.
        log.warning(
            "%s on host %s ignored the shutdown request for %.0f s; powering it off",
            name,
            self._host,
            self._stop_timeout,
        )
        await self._call(Operation.STOP, name, partial(libvirt_ops.power_off, name=name))
        return Outcome.CHANGED

    async def reboot(self, name: str) -> Outcome:
        return await self._call(Operation.REBOOT, name, partial(libvirt_ops.reboot, name=name))

    async def destroy(self, name: str) -> Outcome:
        return await self._call(Operation.DESTROY, name, partial(libvirt_ops.destroy, name=name))

    async def state(self, name: str) -> PowerState:
        return await self._call(Operation.STATE, name, partial(libvirt_ops.power_state, name=name))

    async def attach_disk(self, name: str, disk: DiskSpec) -> Outcome:
        work = partial(libvirt_ops.attach_disk, name=name, disk=disk)
        phrase = f"attach {disk.path} as {disk.device} to {name}"
        return await self._call(Operation.ATTACH_DISK, name, work, phrase=phrase)

    async def detach_disk(self, name: str, disk: DiskSpec) -> Outcome:
        work = partial(libvirt_ops.detach_disk, name=name, disk=disk)
        phrase = f"detach {disk.device} ({disk.path}) from {name}"
        return await self._call(Operation.DETACH_DISK, name, work, phrase=phrase)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=True)

    async def _stopped_within(self, name: str, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if await self.state(name) is not PowerState.RUNNING:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(self._poll_interval)

    async def _call(
        self,
        operation: Operation,
        name: str,
        work: Callable[[Any], T],
        *,
        phrase: str | None = None,
        secret: str | None = None,
    ) -> T:
        """Run `work(conn)` on the executor; any failure becomes one HypervisorError."""
        phrase = phrase or operation.phrase(name)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._connection.run, work)
        except (libvirt_ops.RefusedError, LibvirtUnreachableError, libvirt.libvirtError) as error:
            message = self._describe(error, phrase)
            leaks = bool(secret and secret in message)
            if secret and leaks:
                # libvirt quotes the offending XML line in parse errors, password included.
                message = message.replace(secret, "***")
            # Chaining would put the unredacted libvirt text into logged tracebacks.
            raise HypervisorError(operation.value, name, message) from (None if leaks else error)

    def _describe(self, error: Exception, phrase: str) -> str:
        if isinstance(error, libvirt_ops.RefusedError):
            return f"cannot {phrase} on host {self._host}: {error}"
        if isinstance(error, LibvirtUnreachableError):
            where = f"libvirt on host {self._host} ({error.uri})"
            return f"cannot reach {where} to {phrase}: {error.reason}"
        return f"libvirt on host {self._host} refused to {phrase}: {error_message(error)}"
