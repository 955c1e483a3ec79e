"""Traffic per command and backend, read back from the request metrics.

The same code reads the live registry (the /status page) and a scraped /metrics text (the
`stackshift status --url` command), so both show identical numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "stackshift_api_requests_total"
LATENCY = "stackshift_api_request_seconds"
INFINITY = float("inf")


@dataclass(frozen=True)
class TrafficRow:
    command: str
    backend: str
    requests: float
    errors: float
    avg_ms: float | None
    p95_ms: float | None
    # Over the window between two scrapes; None when only one scrape was taken.
    rate_per_s: float | None = None
    errors_per_s: float | None = None


@dataclass
class _Totals:
    requests: float = 0.0
    errors: float = 0.0
    seconds: float = 0.0
    count: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)


def parse(text: str) -> list[Metric]:
    return list(text_string_to_metric_families(text))


def _totals(families: Iterable[Metric]) -> dict[tuple[str, str], _Totals]:
    found: dict[tuple[str, str], _Totals] = {}
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            if "command" not in labels or "backend" not in labels:
                continue
            one = found.setdefault((labels["command"], labels["backend"]), _Totals())
            if sample.name == REQUESTS:
                one.requests += sample.value
                if int(labels.get("status", "0")) >= 400:
                    one.errors += sample.value
            elif sample.name == LATENCY + "_sum":
                one.seconds += sample.value
            elif sample.name == LATENCY + "_count":
                one.count += sample.value
            elif sample.name == LATENCY + "_bucket":
                bound = float(labels["le"])
                one.buckets[bound] = one.buckets.get(bound, 0.0) + sample.value
    return found


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """Estimate a quantile from cumulative histogram buckets, interpolating linearly inside
    the bucket that crosses it, as Prometheus' histogram_quantile does."""
    total = buckets.get(INFINITY, 0.0)
    if total <= 0:
        return None
    wanted = q * total
    lower, below = 0.0, 0.0
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= wanted:
            if bound == INFINITY:
                return lower
            inside = count - below
            return lower + (bound - lower) * ((wanted - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def rows(
    families: Iterable[Metric],
    before: Iterable[Metric] | None = None,
    window_seconds: float | None = None,
) -> list[TrafficRow]:
    """One row per (command, backend), busiest first; rates when an earlier scrape is given."""
    now = _totals(families)
    then = _totals(before) if before is not None else {}
    result = []
    for (command, backend), one in now.items():
        rate = errors_rate = None
        if before is not None and window_seconds:
            old = then.get((command, backend), _Totals())
            rate = round((one.requests - old.requests) / window_seconds, 2)
            errors_rate = round((one.errors - old.errors) / window_seconds, 2)
        p95 = quantile(one.buckets, 0.95)
        result.append(
            TrafficRow(
                command=command,
                backend=backend,
                requests=one.requests,
                errors=one.errors,
                avg_ms=round(one.seconds / one.count * 1000, 1) if one.count else None,
                p95_ms=None if p95 is None else round(p95 * 1000, 1),
                rate_per_s=rate,
                errors_per_s=errors_rate,
            )
        )
    return sorted(result, key=lambda r: (-r.requests, r.command, r.backend))


def slowest(traffic: list[TrafficRow], n: int = 5) -> list[TrafficRow]:
    timed = [r for r in traffic if r.avg_ms is not None]
    return sorted(timed, key=lambda r: -(r.avg_ms or 0.0))[:n]
