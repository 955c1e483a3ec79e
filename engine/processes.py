"""Every engine process, by the API command that submits it (assembled explicitly), and by
its own name for commands with variants (the runner finds a job's process by the name it was
submitted under)."""

from __future__ import annotations

from engine.lifecycle import Process
from engine.network import processes as network
from engine.tags import processes as tags
from engine.vm import deploy, scale, teardown
from engine.vm import processes as vm
from engine.volume import processes as volume


def all_processes() -> dict[str, Process]:
    found: dict[str, Process] = {}
    groups = (
        vm.PROCESSES,
        deploy.PROCESSES,
        teardown.PROCESSES,
        scale.PROCESSES,
        volume.PROCESSES,
        network.PROCESSES,
        tags.PROCESSES,
    )
    for group in groups:
        for command, process in group.items():
            if command in found:
                raise ValueError(f"two processes for {command}")
            found[command] = process
    for name, process in deploy.VARIANTS.items():
        found[name] = process
    return found
