"""listVirtualMachinesMetrics: listVirtualMachines plus the totals the UI's instance list shows."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from compat_api.commands.vm import list_virtual_machines
from compat_api.context import CallContext
from compat_api.facts import facts_for
from compat_api.registry import Command, declare
from compat_api.render import ListResult, Result

# VmMetricsResponse's own fields come first, then UserVmResponse's (Gson order).
ORDER = facts_for("listVirtualMachinesMetrics").response_field_names


def _fixed(value: float, unit: str) -> str:
    """Java's String.format("%.2f <unit>")."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{rounded} {unit}"


def metrics(vm: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    cpus, speed, memory = vm.get("cpunumber"), vm.get("cpuspeed"), vm.get("memory")
    if cpus is not None and speed is not None:
        values["cputotal"] = _fixed(cpus * speed / 1000.0, "Ghz")
    if memory is not None:
        values["memorytotal"] = _fixed(memory / 1024.0, "GB")
    for name, source in (
        ("networkread", "networkkbsread"),
        ("networkwrite", "networkkbswrite"),
        ("diskread", "diskkbsread"),
        ("diskwrite", "diskkbswrite"),
    ):
        if vm.get(source) is not None:
            values[name] = _fixed(vm[source] / 1024.0, "MB")
    if vm.get("diskioread") is not None and vm.get("diskiowrite") is not None:
        values["diskiopstotal"] = vm["diskioread"] + vm["diskiowrite"]
    return values


def with_metrics(vm: dict[str, Any]) -> dict[str, Any]:
    merged = {**vm, **metrics(vm)}
    return {name: merged[name] for name in ORDER if name in merged}


async def list_virtual_machines_metrics(ctx: CallContext, args: dict[str, Any]) -> Result:
    result = await list_virtual_machines(ctx, args)
    assert isinstance(result, ListResult)
    return ListResult([with_metrics(vm) for vm in result.items], result.count, "virtualmachine")


COMMANDS: list[Command] = [
    declare(
        "listVirtualMachinesMetrics",
        subsystem="vm",
        handler=list_virtual_machines_metrics,
        summary="The caller's virtual machines as listVirtualMachines shows them, with CPU and "
        "memory totals (and I/O totals where statistics exist) for the instance list.",
    ),
]
