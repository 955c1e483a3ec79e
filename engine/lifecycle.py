"""Lifecycle processes declared as data, Cattle-style.

A process names the states it starts from, the transitioning state it holds while it runs,
the state it ends in, the state a failure leaves behind, and small idempotent steps. The
executor (engine.jobs.executor) runs the steps, records progress after each one so another
process can resume, and on failure undoes completed steps in reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.hypervisor.driver import Driver
from schema_bridge.db import Database
from schema_bridge.job_queue import ClaimedJob


class StepFailedError(Exception):
    """A step refused with a CloudStack error code and a text a sysadmin understands."""

    def __init__(self, errorcode: int, text: str) -> None:
        super().__init__(text)
        self.errorcode = errorcode
        self.text = text


HypervisorLookup = Callable[[int], Awaitable[Driver]]


@dataclass
class StepContext:
    db: Database
    job: ClaimedJob
    resource_id: int
    # JSON-serialisable facts earlier steps produced (chosen host, allocated ids...), saved
    # with the progress so a resumed job sees them. `args` holds the submitted arguments.
    state: dict[str, Any]
    hypervisor: HypervisorLookup
    msid: int

    @property
    def args(self) -> dict[str, Any]:
        value: dict[str, Any] = self.state.setdefault("args", {})
        return value


StepFn = Callable[[StepContext], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    name: str
    run: StepFn
    undo: StepFn | None = None


class ResourceStates(Protocol):
    """Compare-and-set state changes of one kind of resource (VM, volume, IP...)."""

    async def transit(
        self, conn: AsyncConnection, resource_id: int, from_states: tuple[str, ...], to_state: str
    ) -> bool: ...

    async def state_of(self, conn: AsyncConnection, resource_id: int) -> str | None: ...


@dataclass(frozen=True)
class JobOutcome:
    """What a finished job stores: the response class, its object name and the payload."""

    response_class: str
    object_name: str | None
    payload: dict[str, Any]


ResultBuilder = Callable[[AsyncConnection, "Process", StepContext], Awaitable[JobOutcome]]


@dataclass(frozen=True)
class Process:
    name: str
    command: str
    event_type: str
    resource_type: str
    resources: ResourceStates
    start_states: tuple[str, ...]
    transitioning: str
    done: str
    error: str
    steps: tuple[Step, ...]
    # Usage events written on success (e.g. VM.START); empty for none.
    usage_events: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        return (
            f"{self.name}: {'/'.join(self.start_states)} -> {self.transitioning} -> {self.done} "
            f"(on failure {self.error}); steps {', '.join(s.name for s in self.steps)}"
        )
