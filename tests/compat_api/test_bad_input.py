"""Every implemented command answers bad input with CloudStack's errors, never a 500.

One server per backend sweeps every command (starting a server per command and case would
cost minutes); every failure is collected so one run reports them all.
"""

from __future__ import annotations

import uuid

from compat_api.commands import build_registry
from compat_api.registry import Command
from schema_bridge.lookups import ENTITY_TABLES
from tests.compat_api.conftest import Api

COMMANDS = [c for c in build_registry() if c.name not in ("login", "logout")]
UNKNOWN = str(uuid.UUID(int=0x0D6E5F419A7B4C3D8E2F1A0B9C8D7E6F))
JUNK = ("", "-1", "%", "\u00e9\u4e2d", "'; DROP TABLE user; --", "9" * 40, "true")
ACCEPTABLE_5XX = (531, 532, 533, 534, 535, 536)


def _valid_required(command: Command) -> dict[str, str]:
    """Well-formed but arbitrary values for every required param, so one bad value at a time
    is what the server reacts to."""
    values: dict[str, str] = {}
    for param in command.params:
        if param.required and param.type != "map":
            values[param.name] = {"integer": "1", "long": "1", "short": "1", "uuid": UNKNOWN}.get(
                param.type, "x"
            )
    return values


async def _missing(api: Api, command: Command, problems: list[str]) -> None:
    for param in (p for p in command.params if p.required and p.type != "map"):
        values = {k: v for k, v in _valid_required(command).items() if k != param.name}
        got = (await api.signed(command.name, **values)).error(command.response_name)
        want = (
            431,
            9999,
            f"Unable to execute API command {command.name.lower()} due to missing parameter {param.name}",
        )
        if got != want:
            problems.append(f"{command.name} missing {param.name}: {got}")


async def _malformed(api: Api, command: Command, problems: list[str]) -> None:
    for param in (p for p in command.params if p.type in ("integer", "long", "short")):
        reply = await api.signed(command.name, **{**_valid_required(command), param.name: "12x"})
        want = (
            431,
            9999,
            f"Unable to execute API command {command.name.lower()} due to invalid value 12x for parameter {param.name}",
        )
        if reply.status != 431 or reply.error(command.response_name) != want:
            problems.append(f"{command.name} {param.name}=12x: {reply.status} {reply.text[:200]}")


async def _unknown(api: Api, command: Command, problems: list[str]) -> None:
    prefix = f"Unable to execute API command {command.name.lower()} due to invalid value. Invalid parameter "
    for param in (p for p in command.params if p.type == "uuid" and p.entity in ENTITY_TABLES):
        reply = await api.signed(command.name, **{**_valid_required(command), param.name: UNKNOWN})
        if reply.status != 431:
            problems.append(
                f"{command.name} {param.name}=unknown: {reply.status} {reply.text[:200]}"
            )
            continue
        code, cs_code, text = reply.error(command.response_name)
        # Other required uuids carry the same unknown value, so any of them may be named.
        if (
            (code, cs_code) != (431, 9999)
            or not text.startswith(prefix)
            or f"value={UNKNOWN}" not in text
        ):
            problems.append(f"{command.name} {param.name}=unknown: {text}")


async def _junk(api: Api, command: Command, problems: list[str]) -> None:
    for junk in JUNK:
        values = {p.name: junk for p in command.params if p.type != "map"}
        for who in (api.admin, api.user):
            reply = await api.signed(command.name, who, **values)
            if not (
                reply.status == 200 or 400 <= reply.status < 500 or reply.status in ACCEPTABLE_5XX
            ):
                problems.append(
                    f"{command.name} junk={junk!r} as {who.username}: {reply.status} {reply.text[:200]}"
                )


async def test_bad_input_sweep(api: Api) -> None:
    problems: list[str] = []
    for command in COMMANDS:
        for check in (_missing, _malformed, _unknown, _junk):
            await check(api, command, problems)
    assert not problems, "\n".join(problems)
