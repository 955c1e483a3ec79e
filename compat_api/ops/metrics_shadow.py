"""Prometheus counters of the shadow mirror (see compat_api.shadow)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ShadowMetrics:
    """Created by ops.metrics.Metrics, registered with its other counters."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.samples = Counter(
            "stackshift_shadow_samples",
            "Mirrored calls compared, by command and kind (candidate: other backend; "
            "noise: primary asked twice)",
            ["command", "kind"],
            registry=registry,
        )
        self.differences = Counter(
            "stackshift_shadow_differences",
            "Compared calls whose normalised answers differed, by command and kind",
            ["command", "kind"],
            registry=registry,
        )
        self.dropped = Counter(
            "stackshift_shadow_dropped",
            "Calls not mirrored because the shadow queue was full",
            registry=registry,
        )
        self.failures = Counter(
            "stackshift_shadow_failures",
            "Replays that failed or timed out, by backend",
            ["backend"],
            registry=registry,
        )

    def collectors(self) -> list[Counter]:
        return [self.samples, self.differences, self.dropped, self.failures]
