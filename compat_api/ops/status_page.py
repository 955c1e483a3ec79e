"""GET /status: one HTML page a sysadmin reads without docs; /status.json is the same
picture for `stackshift status --url`. No scripts and no external assets.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from html import escape

from aiohttp import web

from compat_api.ops import health, traffic
from compat_api.ops.runtime import OPS
from compat_api.ops.snapshot import Check, Snapshot, now_utc
from compat_api.ops.stuck import duration_text

REFRESH_SECONDS = 10
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.8em;vertical-align:middle}
.ok{background:#2e7d32}.bad{background:#c62828}.warn{background:#ef6c00}
.note{color:#666}.problems li{color:#c62828}code{background:#f3f3f3;padding:0 .2em}
"""


def _cell(value: object, numeric: bool = False) -> str:
    text = "-" if value is None else str(value)
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(v, i in numeric) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="note">none</td></tr>'
    return f"<table><tr>{head}</tr>{body}</table>"


def _badge(snapshot: Snapshot) -> str:
    verdict = snapshot.health
    if verdict.draining:
        return '<span class="badge warn">DRAINING</span>'
    if not verdict.ready:
        return '<span class="badge bad">NOT READY</span>'
    if verdict.problems:
        return '<span class="badge warn">READY, WITH PROBLEMS</span>'
    return '<span class="badge ok">READY</span>'


def _check_row(name: str, check: Check | None) -> list[object]:
    if check is None:
        return [name, "not configured", None, None]
    latency = None if check.latency_ms is None else f"{check.latency_ms} ms"
    verdict = "OK" if check.ok else f"DOWN: {check.error}"
    return [name, verdict, latency, check.target]


def _health(snapshot: Snapshot) -> str:
    verdict = snapshot.health
    problems = "".join(f"<li>{escape(p)}</li>" for p in verdict.problems)
    listed = f'<ul class="problems">{problems}</ul>' if problems else "<p>All checks pass.</p>"
    rows: list[list[object]] = [
        _check_row("Database", verdict.database),
        _check_row("Legacy server", verdict.legacy),
        ["Draining", "yes" if verdict.draining else "no", None, "this process"],
    ]
    return "<h2>Health</h2>" + listed + _table(["Check", "State", "Latency", "Where"], rows, set())


def _traffic(snapshot: Snapshot) -> str:
    rows = snapshot.traffic or []
    intro = (
        '<p class="note">API requests answered since the server started, all workers; '
        "errors are answers with an error code.</p>"
    )
    table = _table(
        ["Command", "Backend", "Requests", "Errors", "Error %", "Avg ms", "p95 ms"],
        [
            [
                r.command,
                r.backend,
                f"{r.requests:.0f}",
                f"{r.errors:.0f}",
                f"{100 * r.errors / r.requests:.1f}" if r.requests else None,
                r.avg_ms,
                r.p95_ms,
            ]
            for r in rows
        ],
        {2, 3, 4, 5, 6},
    )
    slow = _table(
        ["Command", "Backend", "Avg ms", "p95 ms", "Requests"],
        [
            [r.command, r.backend, r.avg_ms, r.p95_ms, f"{r.requests:.0f}"]
            for r in traffic.slowest(rows)
        ],
        {2, 3, 4},
    )
    return "<h2>Traffic</h2>" + intro + table + "<h2>Slowest commands</h2>" + slow


def _jobs(snapshot: Snapshot) -> str:
    picture = snapshot.jobs
    if picture is None:
        return "<h2>Jobs</h2><p>The job queue could not be read (see Health).</p>"
    summary = (
        f"<p>{picture.pending} pending engine jobs; the oldest has waited "
        f"{duration_text(picture.oldest_pending_seconds)}. {len(picture.stuck)} stuck.</p>"
    )
    backlog = _table(
        ["Command", "Pending", "Oldest"],
        [[b.command, b.pending, duration_text(b.oldest_seconds)] for b in picture.backlog],
        {1},
    )
    stuck_intro = (
        '<p class="note">A job is stuck when it has been pending too long, has made no progress '
        "for a while, or its owner process stopped heartbeating. Each row says what to do.</p>"
    )
    stuck = _table(
        ["Job", "Command", "Resource", "Step", "Owner msid", "Age", "Why", "What to do"],
        [
            [
                j.uuid,
                j.command,
                j.resource,
                j.step,
                _owner(j.owner_msid, j.owner_alive),
                duration_text(j.age_seconds),
                "; ".join(j.reasons),
                j.advice,
            ]
            for j in picture.stuck
        ],
        set(),
    )
    return "<h2>Jobs</h2>" + summary + backlog + "<h3>Stuck jobs</h3>" + stuck_intro + stuck


def _owner(msid: int | None, alive: bool | None) -> str:
    if msid is None:
        return "none"
    return f"{msid} ({'alive' if alive else 'dead'})"


def _instances_and_routes(snapshot: Snapshot) -> str:
    instances = snapshot.jobs.instances if snapshot.jobs else []
    table = _table(
        ["msid", "Host", "pid", "Version", "Started (UTC)", "Heartbeat", "State"],
        [
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
        ],
        {2},
    )
    routes = _table(
        ["Subsystem", "Backend", "Commands"],
        [[r.subsystem, r.backend, r.commands] for r in snapshot.routes],
        {2},
    )
    return (
        "<h2>Instances</h2>" + table + "<h2>Routes</h2>"
        '<p class="note">Which backend answers each subsystem\'s commands.</p>' + routes
    )


def render(snapshot: Snapshot) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        f"<title>stackshift status</title><style>{_CSS}</style></head><body>"
        f"<h1>stackshift {_badge(snapshot)}</h1>"
        f'<p class="note">{escape(snapshot.generated_at)} UTC, from {escape(snapshot.source)}; '
        f"refreshes every {REFRESH_SECONDS} s.</p>"
        + _health(snapshot)
        + _traffic(snapshot)
        + _jobs(snapshot)
        + _instances_and_routes(snapshot)
        + "</body></html>"
    )


async def snapshot_of(request: web.Request) -> Snapshot:
    ops = request.app[OPS]
    state = ops.state(request.app)
    verdict, picture = await health.assess(
        state.db, ops.drain.draining, ops.settings.legacy_url, ops.rules
    )
    msid = state.engine.msid if state.engine else None
    return Snapshot(
        generated_at=now_utc().strftime("%Y-%m-%d %H:%M:%S"),
        source=f"pid {os.getpid()} msid {msid}",
        health=verdict,
        jobs=picture,
        routes=ops.routes(request.app),
        traffic=traffic.rows(ops.metrics.families()),
    )


async def status_html(request: web.Request) -> web.Response:
    page = render(await snapshot_of(request))
    headers = {
        "Cache-Control": "no-store",
        # Nothing but the inline style may load or run, whatever a job or host name holds.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }
    return web.Response(text=page, content_type="text/html", headers=headers)


async def status_json(request: web.Request) -> web.Response:
    snapshot = await snapshot_of(request)
    return web.json_response(snapshot.to_json(), headers={"Cache-Control": "no-store"})
