"""API discovery: listApis (from the registry, filtered by role) and listCapabilities."""

from __future__ import annotations

from typing import Any

from compat_api import roles, shapes
from compat_api.context import CallContext
from compat_api.facts import ParamFact
from compat_api.registry import Command, declare
from compat_api.render import ListResult, ObjectResult, Result

API_SHAPE = shapes.of("listApis")
CAPABILITY_SHAPE = shapes.of("listCapabilities")
_ROLE_OF_TYPE = {"Admin": "Admin", "ResourceAdmin": "DomainAdmin", "DomainAdmin": "DomainAdmin"}


def _param_visible(param: ParamFact, role_type: str) -> bool:
    return not param.authorized or _ROLE_OF_TYPE.get(role_type, role_type) in param.authorized


def _describe(command: Command, role_type: str) -> dict[str, Any]:
    facts = command.facts
    params = [
        API_SHAPE.child("params").build(
            {
                "name": p.name,
                "description": "",
                "type": p.type,
                "length": p.length,
                "required": p.required,
                "since": p.since,
            }
        )
        for p in command.params
        if _param_visible(p, role_type)
    ]
    response = [
        API_SHAPE.child("response").build({"name": f.name, "description": "", "type": f.json})
        for f in facts.fields
        if f.name not in ("jobid", "jobstatus")
    ]
    return API_SHAPE.build(
        {
            "name": command.name,
            "description": command.summary,
            "isasync": command.isasync,
            "params": params,
            "response": response,
        }
    )


async def list_apis(ctx: CallContext, args: dict[str, Any]) -> Result:
    caller = ctx.caller
    rules = await ctx.config.role_rules(ctx.db, caller.role_id) if caller.role_id else ()
    wanted = args.get("name")
    items = [
        _describe(command, caller.role_type)
        for command in ctx.registry
        if (wanted is None or command.name == wanted)
        and roles.allowed(command.name, caller.role_id, caller.role_type, rules, command.roles)
    ]
    ours = {command.name for command in ctx.registry}
    items += [
        dict(item)
        for item in ctx.legacy_apis
        if item["name"] not in ours and (wanted is None or item["name"] == wanted)
    ]
    return ListResult(items, len(items), "api")


async def list_capabilities(ctx: CallContext, args: dict[str, Any]) -> Result:
    values: dict[str, Any] = {
        "securitygroupsenabled": False,
        "dynamicrolesenabled": True,
        "cloudstackversion": ctx.config.cloudstack_version,
        "userpublictemplateenabled": True,
        "supportELB": "false",
        "projectinviterequired": False,
        "allowusercreateprojects": True,
        "customdiskofferingminsize": 1,
        "customdiskofferingmaxsize": 1024,
        "regionsecondaryenabled": False,
        "kvmsnapshotenabled": False,
        "allowuserviewdestroyedvm": False,
        "allowuserexpungerecovervm": False,
        "allowuserexpungerecovervolume": True,
        "allowuserviewalldomainaccounts": False,
        "allowuserforcestopvm": True,
        "kubernetesserviceenabled": False,
        "kubernetesclusterexperimentalfeaturesenabled": False,
        "defaultuipagesize": 20,
        "instancesstatsretentiontime": 720,
        "instancesstatsuseronly": False,
        "instancesdisksstatsretentionenabled": False,
        "instancesdisksstatsretentiontime": 720,
        "sharedfsvmmincpucount": 2,
        "sharedfsvmminramsize": 1024,
        "instanceleaseenabled": False,
        "dynamicscalingenabled": True,
        "additionalconfigenabled": False,
    }
    return ObjectResult(CAPABILITY_SHAPE.build(values), "capability")


COMMANDS: list[Command] = [
    declare(
        "listApis",
        subsystem="infra",
        handler=list_apis,
        summary="The commands this caller may use, with their parameters and response fields.",
    ),
    declare(
        "listCapabilities",
        subsystem="infra",
        handler=list_capabilities,
        summary="Cloud-wide feature flags and limits that clients adapt their behaviour to.",
    ),
]
