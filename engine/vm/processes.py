"""VM lifecycle processes, declared as data."""

from __future__ import annotations

from engine.lifecycle import Process, Step
from engine.vm import steps
from schema_bridge.vm_state import VmStates

VM = VmStates()

START = Process(
    name="vm.start",
    command="startVirtualMachine",
    event_type="VM.START",
    resource_type="VirtualMachine",
    resources=VM,
    start_states=("Stopped",),
    transitioning="Starting",
    done="Running",
    error="Stopped",
    steps=(
        Step("reserve capacity", steps.reserve_capacity, steps.release_reserved),
        Step("start on host", steps.start_on_host, steps.stop_started),
    ),
    usage_events=("VM.START",),
)

STOP = Process(
    name="vm.stop",
    command="stopVirtualMachine",
    event_type="VM.STOP",
    resource_type="VirtualMachine",
    resources=VM,
    # Stopping a stopped VM succeeds and changes nothing, as on CloudStack.
    start_states=("Running", "Stopped"),
    transitioning="Stopping",
    done="Stopped",
    error="Running",
    steps=(
        Step("stop on host", steps.stop_on_host),
        Step("release host", steps.release_reserved),
    ),
    usage_events=("VM.STOP",),
)

REBOOT = Process(
    name="vm.reboot",
    command="rebootVirtualMachine",
    event_type="VM.REBOOT",
    resource_type="VirtualMachine",
    resources=VM,
    start_states=("Running",),
    transitioning="Running",
    done="Running",
    error="Running",
    steps=(Step("reboot on host", steps.reboot_on_host),),
)

PROCESSES = {p.command: p for p in (START, STOP, REBOOT)}
