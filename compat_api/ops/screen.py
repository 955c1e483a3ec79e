"""The operator's picture as plain text for a terminal: `stackshift status` and `jobs`."""

from __future__ import annotations

from collections.abc import Sequence

from compat_api.ops import traffic
from compat_api.ops.snapshot import Check, InstanceView, Snapshot
from compat_api.ops.stuck import JobView, duration_text


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    texts = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in texts)) for i, h in enumerate(headers)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in texts]
    return [line.rstrip() for line in lines]


def _check(name: str, check: Check | None) -> str:
    if check is None:
        return f"  {name}: not configured"
    if check.ok:
        return f"  {name}: ok, {check.latency_ms} ms ({check.target})"
    return f"  {name}: DOWN ({check.target}): {check.error}"


def _health(snapshot: Snapshot) -> list[str]:
    verdict = snapshot.health
    state = "READY" if verdict.ready else "NOT READY"
    if verdict.draining:
        state = "DRAINING"
    lines = [f"stackshift: {state}   ({snapshot.generated_at} UTC, from {snapshot.source})"]
    lines += [f"  ! {p}" for p in verdict.problems]
    lines += [_check("database", verdict.database), _check("legacy server", verdict.legacy)]
    return lines


def _traffic(snapshot: Snapshot) -> list[str]:
    if snapshot.traffic is None:
        return ["", "Traffic: not available from the database alone (use --url)"]
    rows = [
        [
            r.command,
            r.backend,
            f"{r.requests:.0f}",
            "-" if r.rate_per_s is None else f"{r.rate_per_s:.1f}",
            f"{r.errors:.0f}",
            f"{100 * r.errors / r.requests:.1f}%" if r.requests else "-",
            r.avg_ms,
            r.p95_ms,
        ]
        for r in snapshot.traffic
    ]
    slow = [[r.command, r.backend, r.avg_ms, r.p95_ms] for r in traffic.slowest(snapshot.traffic)]
    return [
        "",
        "Traffic per command and backend (totals since start; req/s over the sampling window):",
        *table(
            ["command", "backend", "requests", "req/s", "errors", "err%", "avg ms", "p95 ms"], rows
        ),
        "",
        "Slowest commands:",
        *table(["command", "backend", "avg ms", "p95 ms"], slow),
    ]


def job_rows(jobs: Sequence[JobView]) -> list[str]:
    """Each job on one line, and on the next what to do about it."""
    if not jobs:
        return ["  (none)"]
    lines = []
    for j in jobs:
        owner = (
            "none"
            if j.owner_msid is None
            else f"{j.owner_msid} ({'alive' if j.owner_alive else 'dead'})"
        )
        lines.append(
            f"  {j.uuid}  {j.command}  {j.resource}  step: {j.step}  owner: {owner}  "
            f"age: {duration_text(j.age_seconds)}"
            + (f"  [{'; '.join(j.reasons)}]" if j.reasons else "")
        )
        lines.append(f"      -> {j.advice}")
    return lines


def _instances(instances: Sequence[InstanceView]) -> list[str]:
    rows = [
        [
            i.msid,
            i.hostname,
            i.pid,
            i.version,
            i.started,
            f"{duration_text(i.heartbeat_age_seconds)} ago",
            "dead" if not i.alive else "draining" if i.draining else "alive",
        ]
        for i in instances
    ]
    return table(["msid", "host", "pid", "version", "started (UTC)", "heartbeat", "state"], rows)


def render(snapshot: Snapshot) -> str:
    lines = _health(snapshot) + _traffic(snapshot)
    picture = snapshot.jobs
    if picture is None:
        lines += ["", "Jobs: the job queue could not be read"]
    else:
        lines += [
            "",
            f"Job backlog: {picture.pending} pending, oldest "
            f"{duration_text(picture.oldest_pending_seconds)}",
            *table(
                ["command", "pending", "oldest"],
                [[b.command, b.pending, duration_text(b.oldest_seconds)] for b in picture.backlog],
            ),
            "",
            f"Stuck jobs: {len(picture.stuck)}",
            *job_rows(picture.stuck),
            "",
            "Instances:",
            *_instances(picture.instances),
        ]
    lines += [
        "",
        "Routes (subsystem -> backend):",
        *table(
            ["subsystem", "backend", "commands"],
            [[r.subsystem, r.backend, r.commands] for r in snapshot.routes],
        ),
    ]
    return "\n".join(lines)
