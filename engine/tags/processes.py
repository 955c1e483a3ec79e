"""Tag batch processes, declared as data. A batch has no stateful resource of its own:
its job names no instance (CloudStack records the type None)."""

from __future__ import annotations

from engine.lifecycle import Process, Step
from engine.tags import steps
from schema_bridge.tag_rows import StatelessResources

BATCH = StatelessResources()

CREATE = Process(
    name="tags.create",
    command="createTags",
    event_type="CREATE_TAGS",
    resource_type="None",
    resources=BATCH,
    start_states=("Ready",),
    transitioning="Ready",
    done="Ready",
    error="Ready",
    steps=(Step("create tags", steps.create_tags),),
)

DELETE = Process(
    name="tags.delete",
    command="deleteTags",
    event_type="DELETE_TAGS",
    resource_type="None",
    resources=BATCH,
    start_states=("Ready",),
    transitioning="Ready",
    done="Ready",
    error="Ready",
    steps=(Step("delete tags", steps.delete_tags),),
)

PROCESSES = {p.command: p for p in (CREATE, DELETE)}
