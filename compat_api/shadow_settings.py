"""How the shadow mirror samples, queues and stores (part of Settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShadowSettings:
    # Calls waiting to be mirrored; beyond this they are dropped (and counted), never waited on.
    queue_size: int = 1000
    # Background tasks replaying calls on the other backend.
    workers: int = 2
    # Share (percent) of mirrored calls for which the primary is asked a second time, so
    # fields that differ between two primary answers are measured as noise.
    noise_percent: float = 10.0
    # Differing value pairs kept per (command, field).
    examples_kept: int = 5
    # Counters are added up in memory and written this often (and at shutdown).
    flush_seconds: float = 5.0
    # A replay slower than this is abandoned and counted as failed.
    timeout_seconds: float = 30.0
