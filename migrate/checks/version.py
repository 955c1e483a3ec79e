"""The `version` table: a CloudStack schema, at a version stackshift supports."""

from __future__ import annotations

from migrate.checks import Finding, Target
from schema_bridge.version import SUPPORTED_RANGE, UnsupportedSchema, check_schema

NAME = "version"


async def run(target: Target) -> list[Finding]:
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_RANGE
    supported = f"{low_major}.{low_minor}-{high_major}.{high_minor}"
    try:
        async with target.db.engine.connect() as conn:
            found = await check_schema(conn)
    except UnsupportedSchema as error:
        return [
            Finding(
                "FAIL",
                NAME,
                str(error),
                f"point --db at the CloudStack `cloud` database, upgraded with CloudStack to "
                f"a version in {supported} and not mid-upgrade",
            )
        ]
    return [Finding("PASS", NAME, f"CloudStack {found} (supported: {supported})")]
