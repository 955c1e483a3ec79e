"""The in-process Simulator hypervisor, which tests can tell to fail or delay an operation.

State lives in memory per host; `simulators` holds one Simulator per host so a test cloud
can have several. A `threading.Lock` guards the state (never held across an await), so one
Simulator may serve several event loops or worker threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from engine.hypervisor.driver import (
    DiskSpec,
    HypervisorError,
    Operation,
    Outcome,
    PowerState,
    VmSpec,
)

T = TypeVar("T")


@dataclass(frozen=True)
class SimulatedVm:
    """A snapshot of one simulated VM; `boots` counts starts and reboots."""

    spec: VmSpec
    power: PowerState
    boots: int = 0


@dataclass
class _Fault:
    operation: Operation
    vm_name: str | None
    remaining: int | None  # None: until clear_faults()
    message: str | None = None
    delay_seconds: float = 0.0
    after: bool = False

    def matches(self, operation: Operation, vm_name: str) -> bool:
        return (
            self.operation is operation
            and self.vm_name in (None, vm_name)
            and (self.remaining is None or self.remaining > 0)
        )

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class Simulator:
    """A Driver whose host exists only in this process."""

    def __init__(self, host: str) -> None:
        self._host = host
        self._lock = threading.Lock()
        self._vms: dict[str, SimulatedVm] = {}
        self._failures: list[_Fault] = []
        self._delays: list[_Fault] = []

    @property
    def host(self) -> str:
        return self._host

    def fail(
        self,
        operation: Operation | str,
        vm_name: str | None = None,
        times: int | None = 1,
        message: str = "injected fault",
        *,
        after: bool = False,
    ) -> None:
        """Make the next `times` calls (None: all) of `operation` raise HypervisorError.

        With `after=True` the operation takes effect before failing, like a host that did the
        work but lost the reply: the case idempotent lifecycle steps must survive.
        """
        fault = _Fault(Operation(operation), vm_name, times, message=message, after=after)
        with self._lock:
            self._failures.append(fault)

    def delay(
        self,
        operation: Operation | str,
        seconds: float,
        vm_name: str | None = None,
        times: int | None = None,
    ) -> None:
        """Make calls of `operation` sleep `seconds` first (for `times` calls; None: all)."""
        fault = _Fault(Operation(operation), vm_name, times, delay_seconds=seconds)
        with self._lock:
            self._delays.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    def vm(self, name: str) -> SimulatedVm | None:
        with self._lock:
            return self._vms.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._vms)

    async def define(self, spec: VmSpec) -> Outcome:
        return await self._run(Operation.DEFINE, spec.name, lambda: self._define(spec))

    async def start(self, name: str) -> Outcome:
        return await self._run(Operation.START, name, lambda: self._power(name, on=True))

    async def stop(self, name: str, forced: bool = False) -> Outcome:
        return await self._run(Operation.STOP, name, lambda: self._power(name, on=False))

    async def reboot(self, name: str) -> Outcome:
        return await self._run(Operation.REBOOT, name, lambda: self._reboot(name))

    async def destroy(self, name: str) -> Outcome:
        return await self._run(Operation.DESTROY, name, lambda: self._destroy(name))

    async def state(self, name: str) -> PowerState:
        return await self._run(Operation.STATE, name, lambda: self._state(name))

    async def attach_disk(self, name: str, disk: DiskSpec) -> Outcome:
        return await self._run(Operation.ATTACH_DISK, name, lambda: self._attach(name, disk))

    async def detach_disk(self, name: str, disk: DiskSpec) -> Outcome:
        return await self._run(Operation.DETACH_DISK, name, lambda: self._detach(name, disk))

    async def close(self) -> None:
        """Nothing to release: the state stays, as a real host's would."""

    async def _run(self, operation: Operation, name: str, apply: Callable[[], T]) -> T:
        seconds = self._take_delay(operation, name)
        if seconds > 0:
            await asyncio.sleep(seconds)
        self._raise_injected(operation, name, after=False)
        with self._lock:
            result = apply()
        self._raise_injected(operation, name, after=True)
        return result

    def _take_delay(self, operation: Operation, name: str) -> float:
        with self._lock:
            fault = next((f for f in self._delays if f.matches(operation, name)), None)
            if fault is None:
                return 0.0
            fault.consume()
            return fault.delay_seconds

    def _raise_injected(self, operation: Operation, name: str, *, after: bool) -> None:
        with self._lock:
            candidates = (f for f in self._failures if f.after is after)
            fault = next((f for f in candidates if f.matches(operation, name)), None)
            if fault is None:
                return
            fault.consume()
        raise self._error(operation, name, fault.message or "injected fault")

    def _error(self, operation: Operation, name: str, reason: str) -> HypervisorError:
        phrase = operation.phrase(name)
        message = f"simulator on host {self._host} refused to {phrase}: {reason}"
        return HypervisorError(operation.value, name, message)

    def _require(self, operation: Operation, name: str) -> SimulatedVm:
        vm = self._vms.get(name)
        if vm is None:
            raise self._error(operation, name, "no such VM is defined on this host")
        return vm

    def _define(self, spec: VmSpec) -> Outcome:
        existing = self._vms.get(spec.name)
        if existing is None:
            self._vms[spec.name] = SimulatedVm(spec, PowerState.STOPPED)
            return Outcome.CHANGED
        if existing.spec.uuid != spec.uuid:
            reason = f"a different VM with uuid {existing.spec.uuid} already has this name"
            raise self._error(Operation.DEFINE, spec.name, reason)
        if existing.spec == spec:
            return Outcome.NOOP
        # Like libvirt, a new definition of the same VM replaces the stored one.
        self._vms[spec.name] = dataclasses.replace(existing, spec=spec)
        return Outcome.CHANGED

    def _power(self, name: str, *, on: bool) -> Outcome:
        operation = Operation.START if on else Operation.STOP
        vm = self._vms.get(name)
        if vm is None and not on:
            return Outcome.NOOP  # a VM that does not exist is certainly not running
        vm = self._require(operation, name)
        wanted = PowerState.RUNNING if on else PowerState.STOPPED
        if vm.power is wanted:
            return Outcome.NOOP
        boots = vm.boots + 1 if on else vm.boots
        self._vms[name] = dataclasses.replace(vm, power=wanted, boots=boots)
        return Outcome.CHANGED

    def _reboot(self, name: str) -> Outcome:
        vm = self._require(Operation.REBOOT, name)
        if vm.power is not PowerState.RUNNING:
            raise self._error(Operation.REBOOT, name, "the VM is not running")
        self._vms[name] = dataclasses.replace(vm, boots=vm.boots + 1)
        return Outcome.CHANGED

    def _destroy(self, name: str) -> Outcome:
        return Outcome.CHANGED if self._vms.pop(name, None) else Outcome.NOOP

    def _state(self, name: str) -> PowerState:
        vm = self._vms.get(name)
        return PowerState.MISSING if vm is None else vm.power

    def _attach(self, name: str, disk: DiskSpec) -> Outcome:
        vm = self._require(Operation.ATTACH_DISK, name)
        current = {d.device: d for d in vm.spec.disks}
        held = current.get(disk.device)
        if held is not None and held.path == disk.path:
            return Outcome.NOOP
        if held is not None:
            reason = f"device {disk.device} already holds {held.path}"
            raise self._error(Operation.ATTACH_DISK, name, reason)
        spec = dataclasses.replace(vm.spec, disks=(*vm.spec.disks, disk))
        self._vms[name] = dataclasses.replace(vm, spec=spec)
        return Outcome.CHANGED

    def _detach(self, name: str, disk: DiskSpec) -> Outcome:
        vm = self._require(Operation.DETACH_DISK, name)
        held = next((d for d in vm.spec.disks if d.device == disk.device), None)
        if held is None:
            return Outcome.NOOP
        if held.path != disk.path:
            reason = f"device {disk.device} holds {held.path}, not {disk.path}"
            raise self._error(Operation.DETACH_DISK, name, reason)
        remaining = tuple(d for d in vm.spec.disks if d.device != disk.device)
        self._vms[name] = dataclasses.replace(
            vm, spec=dataclasses.replace(vm.spec, disks=remaining)
        )
        return Outcome.CHANGED


class SimulatorRegistry:
    """One Simulator per host key (its IP address), created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, Simulator] = {}

    def host(self, key: str) -> Simulator:
        with self._lock:
            if key not in self._hosts:
                self._hosts[key] = Simulator(key)
            return self._hosts[key]

    def reset(self) -> None:
        """Forget every simulated host (tests start from an empty cloud)."""
        with self._lock:
            self._hosts.clear()


simulators = SimulatorRegistry()
