"""The Simulator: lifecycle, idempotent repeats, fault injection on every operation, delays."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import pytest

from engine.hypervisor import DiskSpec, Driver, HypervisorError, Operation, Outcome, PowerState
from engine.hypervisor.simulator import Simulator, SimulatorRegistry
from tests.engine.hypervisor.conftest import DATA, ROOT, make_spec

NAME = "i-2-10-VM"
Call = Callable[[Simulator], Awaitable[object]]

# One call per operation, on a VM prepared by `_prepared` so that the call would succeed.
CALLS: dict[Operation, Call] = {
    Operation.DEFINE: lambda sim: sim.define(make_spec(memory_mb=1024)),
    Operation.START: lambda sim: sim.start(NAME),
    Operation.STOP: lambda sim: sim.stop(NAME),
    Operation.REBOOT: lambda sim: sim.reboot(NAME),
    Operation.DESTROY: lambda sim: sim.destroy(NAME),
    Operation.STATE: lambda sim: sim.state(NAME),
    Operation.ATTACH_DISK: lambda sim: sim.attach_disk(NAME, DATA),
    Operation.DETACH_DISK: lambda sim: sim.detach_disk(NAME, ROOT),
}


async def _prepared(sim: Simulator, operation: Operation) -> None:
    await sim.define(make_spec())
    if operation in (Operation.STOP, Operation.REBOOT):
        await sim.start(NAME)


def test_simulator_is_a_driver(simulator: Simulator) -> None:
    driver: Driver = simulator
    assert isinstance(driver, Driver)
    assert driver.host == "10.0.0.11"


async def test_lifecycle(simulator: Simulator) -> None:
    assert await simulator.state(NAME) is PowerState.MISSING
    assert await simulator.define(make_spec()) is Outcome.CHANGED
    assert await simulator.state(NAME) is PowerState.STOPPED
    assert await simulator.start(NAME) is Outcome.CHANGED
    assert await simulator.state(NAME) is PowerState.RUNNING
    assert await simulator.reboot(NAME) is Outcome.CHANGED
    assert await simulator.stop(NAME, forced=True) is Outcome.CHANGED
    assert await simulator.state(NAME) is PowerState.STOPPED
    vm = simulator.vm(NAME)
    assert vm is not None
    assert vm.boots == 2
    assert await simulator.destroy(NAME) is Outcome.CHANGED
    assert await simulator.state(NAME) is PowerState.MISSING
    assert simulator.names() == []


async def test_repeats_are_noops(simulator: Simulator) -> None:
    assert await simulator.stop(NAME) is Outcome.NOOP
    assert await simulator.destroy(NAME) is Outcome.NOOP
    await simulator.define(make_spec())
    assert await simulator.define(make_spec()) is Outcome.NOOP
    assert await simulator.stop(NAME) is Outcome.NOOP
    await simulator.start(NAME)
    assert await simulator.start(NAME) is Outcome.NOOP
    await simulator.attach_disk(NAME, DATA)
    assert await simulator.attach_disk(NAME, DATA) is Outcome.NOOP
    await simulator.detach_disk(NAME, DATA)
    assert await simulator.detach_disk(NAME, DATA) is Outcome.NOOP


async def test_define_updates_same_uuid_and_refuses_a_name_clash(simulator: Simulator) -> None:
    await simulator.define(make_spec())
    assert await simulator.define(make_spec(memory_mb=2048)) is Outcome.CHANGED
    vm = simulator.vm(NAME)
    assert vm is not None
    assert vm.spec.memory_mb == 2048
    other = make_spec(uuid="11111111-2222-4333-8444-555555555555")
    with pytest.raises(HypervisorError, match=r"a different VM with uuid 6f1a3b2c-.* already has"):
        await simulator.define(other)


async def test_refusals_name_host_operation_and_vm(simulator: Simulator) -> None:
    with pytest.raises(HypervisorError) as missing:
        await simulator.start(NAME)
    assert str(missing.value) == (
        "simulator on host 10.0.0.11 refused to start i-2-10-VM: no such VM is defined on this host"
    )
    assert (missing.value.operation, missing.value.vm) == ("start", NAME)
    await simulator.define(make_spec())
    with pytest.raises(HypervisorError, match="refused to reboot i-2-10-VM: the VM is not running"):
        await simulator.reboot(NAME)
    clash = DiskSpec("/mnt/other.qcow2", "vda", 1)
    with pytest.raises(HypervisorError, match="device vda already holds /mnt/primary/6c1e"):
        await simulator.attach_disk(NAME, clash)
    with pytest.raises(HypervisorError, match=r"device vda holds /mnt/primary/.*, not /mnt/other"):
        await simulator.detach_disk(NAME, clash)


async def test_attach_and_detach_change_the_spec(simulator: Simulator) -> None:
    await simulator.define(make_spec())
    await simulator.start(NAME)
    assert await simulator.attach_disk(NAME, DATA) is Outcome.CHANGED
    vm = simulator.vm(NAME)
    assert vm is not None
    assert [d.device for d in vm.spec.disks] == ["vda", "vdb"]
    assert await simulator.detach_disk(NAME, DATA) is Outcome.CHANGED
    vm = simulator.vm(NAME)
    assert vm is not None
    assert vm.spec.disks == (ROOT,)


@pytest.mark.parametrize("operation", list(Operation))
async def test_fail_each_operation_once(simulator: Simulator, operation: Operation) -> None:
    await _prepared(simulator, operation)
    before = simulator.vm(NAME)
    simulator.fail(operation, NAME, message="disk controller on fire")
    with pytest.raises(HypervisorError) as failure:
        await CALLS[operation](simulator)
    assert str(failure.value) == (
        f"simulator on host 10.0.0.11 refused to {operation.phrase(NAME)}: disk controller on fire"
    )
    assert failure.value.operation == operation.value
    assert simulator.vm(NAME) == before, "a failure before the operation changes nothing"
    await CALLS[operation](simulator)  # times=1: the next call goes through


@pytest.mark.parametrize("operation", list(Operation))
async def test_fail_after_takes_effect(simulator: Simulator, operation: Operation) -> None:
    await _prepared(simulator, operation)
    before = simulator.vm(NAME)
    simulator.fail(operation, after=True)
    with pytest.raises(HypervisorError, match="injected fault"):
        await CALLS[operation](simulator)
    if operation is not Operation.STATE:
        assert simulator.vm(NAME) != before, "the host did the work but lost the reply"


async def test_fail_counts_and_targets(simulator: Simulator) -> None:
    await simulator.define(make_spec())
    await simulator.define(make_spec("i-2-11-VM", uuid="22222222-2222-4333-8444-555555555555"))
    simulator.fail("start", vm_name="i-2-11-VM", times=2)
    assert await simulator.start(NAME) is Outcome.CHANGED  # another VM: unaffected
    for _ in range(2):
        with pytest.raises(HypervisorError):
            await simulator.start("i-2-11-VM")
    assert await simulator.start("i-2-11-VM") is Outcome.CHANGED
    simulator.fail(Operation.STATE, times=None)
    for _ in range(3):
        with pytest.raises(HypervisorError):
            await simulator.state(NAME)
    simulator.clear_faults()
    assert await simulator.state(NAME) is PowerState.RUNNING


def test_unknown_operation_is_a_typo_not_a_silent_noop(simulator: Simulator) -> None:
    with pytest.raises(ValueError, match="'strat' is not a valid Operation"):
        simulator.fail("strat")


@pytest.mark.parametrize("operation", list(Operation))
async def test_delay_each_operation(simulator: Simulator, operation: Operation) -> None:
    await _prepared(simulator, operation)
    simulator.delay(operation, 0.1, vm_name=NAME, times=1)
    started = time.monotonic()
    await CALLS[operation](simulator)
    assert time.monotonic() - started >= 0.1


async def test_delay_sleeps_without_blocking_other_vms(simulator: Simulator) -> None:
    await simulator.define(make_spec())
    await simulator.define(make_spec("i-2-11-VM", uuid="22222222-2222-4333-8444-555555555555"))
    simulator.delay(Operation.START, 0.3, vm_name=NAME)
    slow = asyncio.create_task(simulator.start(NAME))
    started = time.monotonic()
    assert await simulator.start("i-2-11-VM") is Outcome.CHANGED
    assert time.monotonic() - started < 0.1
    assert await simulator.state(NAME) is PowerState.STOPPED, "still waiting"
    assert await slow is Outcome.CHANGED
    assert await simulator.state(NAME) is PowerState.RUNNING


def test_safe_across_threads_and_event_loops(simulator: Simulator) -> None:
    asyncio.run(simulator.define(make_spec()))
    results: list[Outcome] = []

    def worker() -> None:
        for _ in range(200):
            results.append(asyncio.run(simulator.start(NAME)))
            results.append(asyncio.run(simulator.stop(NAME)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    vm = simulator.vm(NAME)
    assert vm is not None
    changed_starts = vm.boots
    # Every start that changed something is matched by exactly one stop that did.
    assert results.count(Outcome.CHANGED) == 2 * changed_starts
    assert vm.power is PowerState.STOPPED


def test_registry_keeps_one_simulator_per_host() -> None:
    registry = SimulatorRegistry()
    first = registry.host("10.0.0.11")
    assert registry.host("10.0.0.11") is first
    assert registry.host("10.0.0.12") is not first
    registry.reset()
    assert registry.host("10.0.0.11") is not first
