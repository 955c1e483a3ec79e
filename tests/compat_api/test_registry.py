"""The registry against the real listApis, the shipped facts against ../shared, docs current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compat_api import command_docs
from compat_api.commands import build_registry
from compat_api.facts import all_commands
from compat_api.registry import Command
from compat_api.subsystems import SUBSYSTEMS, subsystem_of
from tests.shared_facts import ROOT, shared_path

REAL_418 = json.loads((ROOT / "tests" / "facts" / "listapis_4_18.json").read_text())["commands"]
# Parameters renamed upstream after 4.18 (the 4.22 source no longer has the old name).
RENAMED_418 = {("findHostsForMigration", "averageload")}
# Parameters upstream made optional after 4.18 (disassociateIpAddress also takes ipaddress;
# deployVirtualMachine can boot from a volume or snapshot instead of a template).
RELAXED_418 = {("disassociateIpAddress", "id"), ("deployVirtualMachine", "templateid")}
COMMANDS = list(build_registry())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_declaration_matches_the_real_listapis(command: Command) -> None:
    real = REAL_418.get(command.name)
    if real is None:
        # Newer than 4.18: the 4.22 inventory is the only reference, and the facts are it.
        assert command.name in all_commands()
        return
    assert command.isasync == real["isasync"]
    declared = {p.name: p for p in command.params}
    for param in real["params"]:
        assert param["name"] in declared, f"{command.name} lacks param {param['name']}"
        mine = declared[param["name"]]
        required = param["required"] and (command.name, param["name"]) not in RELAXED_418
        assert (mine.type, mine.required) == (param["type"], required), param["name"]
    fields = {f.name for f in command.facts.fields} | set(command.facts.response_field_names)
    missing = {n for n in real["response"] if (command.name, n) not in RENAMED_418} - fields
    assert not missing, f"{command.name} lacks response fields {sorted(missing)}"


# Commands responses.json does not detail; listApis names their fields, which is what their
# presenters order them by (registerSSHKeyPair answers createSSHKeyPair's object, less the
# private key; the others answer a SuccessResponse).
LISTAPIS_FIELDS_ONLY = frozenset(
    {"listStoragePools", "registerSSHKeyPair", "deleteSSHKeyPair", "disassociateIpAddress"}
    # The web UI's login, dashboard and deploy-wizard lists.
    | {
        "listLdapConfigurations",
        "cloudianIsEnabled",
        "listHypervisors",
        "listInstanceGroups",
        "listAffinityGroups",
        "listVPCs",
        "listVirtualMachinesMetrics",
        "listAnnotations",
        "listNetworkServiceProviders",
        "listOsTypes",
        "listOsCategories",
        "listAlerts",
    }
    # The UI's views, deploy wizard and 4.21 dashboard cards.
    | {
        "listConfigurations",
        "listResourceIcon",
        "listUserData",
        "listRouters",
        "listSystemVms",
        "listDetailOptions",
    }
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_declaration_is_complete(command: Command) -> None:
    assert command.summary and command.summary[0].isupper()
    assert command.subsystem == subsystem_of(command.name)
    assert command.roles
    detailed = command.facts.fields or command.name in LISTAPIS_FIELDS_ONLY
    assert detailed or command.name in ("login", "logout"), "response fields unknown"


def test_every_command_has_one_subsystem() -> None:
    for name in all_commands():
        assert subsystem_of(name) in SUBSYSTEMS


def test_commands_doc_is_current() -> None:
    assert (ROOT / "docs" / "commands.md").read_text() == command_docs.render(), (
        "regenerate: python -m compat_api.command_docs > docs/commands.md"
    )


def test_shipped_api_facts_match_shared() -> None:
    shared = shared_path()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "extract_api_facts.py"),
            "--shared",
            str(shared),
            "--check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_listapis_418_extract_is_the_real_dump() -> None:
    dump = json.loads(shared_path("cloudstack-api", "listApis.json").read_text())
    assert len(REAL_418) == dump["count"] == 705
    assert sum(1 for c in REAL_418.values() if c["isasync"]) == 318
    assert Path(ROOT / "tests" / "facts" / "listapis_4_18.json").exists()
