"""stackshift's own tables: at which revision, and what an upgrade would apply."""

from __future__ import annotations

import asyncio

from migrate import revisions, upgrade
from migrate.checks import Finding, Target

NAME = "own_schema"


async def run(target: Target) -> list[Finding]:
    plan = await asyncio.to_thread(upgrade.plan, target.url, target.dead_after_seconds)
    if plan.ahead:
        return [
            Finding(
                "WARN",
                NAME,
                f"at {plan.current}, newer than this release knows ({revisions.head()})",
                "run the newer release's `stackshift check`",
            )
        ]
    if not plan.pending:
        return [Finding("PASS", NAME, f"stackshift's tables are at {plan.current}, up to date")]
    listed = ", ".join(upgrade.describe(r) for r in plan.pending)
    where = f"at {plan.current}" if plan.current else "not created yet"
    findings = [
        Finding(
            "WARN",
            NAME,
            f"stackshift's tables are {where}; pending: {listed}",
            "run `stackshift db upgrade` (serve also applies expand revisions at start)",
        )
    ]
    if plan.blocked is not None:
        findings.append(Finding("WARN", NAME, upgrade.refusal(plan)))
    return findings
