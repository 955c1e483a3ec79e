"""Volume lifecycle processes, declared as data.

Done and error states name "Ready"; a volume left without primary storage (never created,
or its creation undone) is recorded as Allocated instead (see schema_bridge.volume_rows).
"""

from __future__ import annotations

from engine.lifecycle import Process, Step
from engine.volume import steps
from schema_bridge.volume_rows import VolumeStates

VOLUMES = VolumeStates()

ATTACH_STEPS = (
    Step("create on primary storage", steps.create_on_storage, steps.remove_from_storage),
    Step("reserve device id", steps.reserve_device, steps.free_device),
    Step("attach on host", steps.attach_on_host, steps.detach_attached),
)

# createVolume's job: nothing more for a bare volume, an attach when a VM was named.
CREATE = Process(
    name="volume.create",
    command="createVolume",
    event_type="VOLUME.CREATE",
    resource_type="Volume",
    resources=VOLUMES,
    start_states=("Allocated",),
    transitioning="Creating",
    done="Ready",
    error="Ready",
    steps=ATTACH_STEPS,
)

ATTACH = Process(
    name="volume.attach",
    command="attachVolume",
    event_type="VOLUME.ATTACH",
    resource_type="Volume",
    resources=VOLUMES,
    start_states=("Allocated", "Ready"),
    transitioning="Attaching",
    done="Ready",
    error="Ready",
    steps=ATTACH_STEPS,
)

# CloudStack has no Detaching state: a detach leaves the volume's state as it was.
DETACH = Process(
    name="volume.detach",
    command="detachVolume",
    event_type="VOLUME.DETACH",
    resource_type="Volume",
    resources=VOLUMES,
    start_states=("Ready", "Allocated"),
    transitioning="Ready",
    done="Ready",
    error="Ready",
    steps=(
        Step("detach on host", steps.detach_on_host, steps.reattach_detached),
        Step("release device id", steps.release_device),
    ),
)

RESIZE = Process(
    name="volume.resize",
    command="resizeVolume",
    event_type="VOLUME.RESIZE",
    resource_type="Volume",
    resources=VOLUMES,
    start_states=("Ready", "Allocated"),
    transitioning="Resizing",
    done="Ready",
    error="Ready",
    steps=(
        Step("hold storage count", steps.keep_storage_count, steps.give_storage_count_back),
        Step("resize", steps.resize),
    ),
)

PROCESSES = {p.command: p for p in (CREATE, ATTACH, DETACH, RESIZE)}
