"""listDetailOptions: the VM and template settings (details) the UI offers, with their values."""

from __future__ import annotations

from typing import Any

from compat_api import errors
from compat_api.context import CallContext
from compat_api.registry import Command, declare
from compat_api.render import ObjectResult, Result
from compat_api.responses.javamap import java_hash_map
from schema_bridge import configuration, resource_hypervisors, tag_rows

# Offered for every hypervisor, then per hypervisor, in the order upstream fills its HashMap.
COMMON: tuple[tuple[str, list[str]], ...] = (
    ("UEFI", ["LEGACY", "SECURE"]),
    ("keyboard", ["uk", "us", "jp", "fr"]),
    ("cpu.corespersocket", []),
    ("rootdisksize", []),
)
KVM: tuple[tuple[str, list[str]], ...] = (
    ("cpu.threadspercore", []),
    ("nicAdapter", ["e1000", "virtio", "rtl8139", "vmxnet3", "ne2k_pci"]),
    ("rootDiskController", ["osdefault", "ide", "scsi", "virtio", "virtio-blk"]),
    ("video.hardware", ["cirrus", "vga", "qxl", "virtio"]),
    ("video.ram", []),
    ("io.policy", ["threads", "native", "io_uring", "storage_specific"]),
    ("iothreads", ["enabled"]),
    ("nic.multiqueue.number", []),
    ("nic.packed.virtqueues.enabled", ["true", "false"]),
)
VMWARE_CONTROLLERS = ["osdefault", "ide", "scsi", "lsilogic", "lsisas1068", "buslogic", "pvscsi"]
VMWARE: tuple[tuple[str, list[str]], ...] = (
    ("nicAdapter", ["E1000", "PCNet32", "Vmxnet2", "Vmxnet3"]),
    ("rootDiskController", VMWARE_CONTROLLERS),
    ("dataDiskController", VMWARE_CONTROLLERS),
    ("nestedVirtualizationFlag", ["true", "false"]),
    ("svga.vramSize", []),
    ("ramReservation", []),
)
VNF_ACCESS_METHODS = sorted(["ssh-password", "ssh-key", "http", "https", "console"])
VNF_DETAILS = (
    "access_methods", "username", "password", "ssh_user", "ssh_password", "ssh_port",
    "web_user", "web_password", "http_path", "http_port", "https_path", "https_port",
    "version", "vendor", "maintainer",
)  # fmt: skip
DENIED_SETTING = "user.vm.denied.details"
DENIED_DEFAULT = (
    "rootdisksize, cpuOvercommitRatio, memoryOvercommitRatio, Message.ReservedCapacityFreed.Flag"
)


def _internal(ctx: CallContext, text: str) -> errors.ApiError:
    # Upstream shows an unhandled failure's own message to root admins only.
    shown = text if ctx.caller.is_root_admin else errors.INTERNAL_TEXT
    return errors.ApiError(errors.INTERNAL_ERROR, shown, errors.CS_CLOUD_RUNTIME)


async def _hypervisor(ctx: CallContext, conn: Any, kind: str, ref: str | None) -> str | None:
    if not ref:
        return None
    lookup = (
        resource_hypervisors.template_hypervisor
        if kind == "Template"
        else resource_hypervisors.vm_hypervisor
    )
    found, hypervisor = await lookup(conn, ref)
    if not found:
        raise _internal(ctx, errors.INTERNAL_TEXT)
    return hypervisor


def _vm_options(hypervisor: str | None) -> dict[str, list[str]]:
    options = dict(COMMON)
    if hypervisor == "KVM":
        options.update(KVM)
    elif hypervisor == "VMware":
        options.update(VMWARE)
    return options


def _as_hash_map(options: dict[str, list[str]]) -> dict[str, list[str]]:
    order = java_hash_map(dict.fromkeys(options, ""))
    return {key: options[key] for key in order}


async def list_detail_options(ctx: CallContext, args: dict[str, Any]) -> Result:
    raw_type = str(args["resourcetype"])
    kind = tag_rows.canonical_type(raw_type)
    if kind is None:
        raise errors.invalid_parameter(f"Invalid resource type: {raw_type}")
    if kind == "VnfTemplate":
        options: dict[str, list[str]] = {name: [] for name in VNF_DETAILS}
        options["access_methods"] = VNF_ACCESS_METHODS
        return ObjectResult({"details": _as_hash_map(options)}, "detailoptions")
    if kind not in ("Template", "UserVm"):
        raise _internal(ctx, "Resource type not supported.")
    async with ctx.db.engine.connect() as conn:
        hypervisor = await _hypervisor(ctx, conn, kind, args.get("resourceid"))
        denied = (await configuration.values(conn, [DENIED_SETTING]))[DENIED_SETTING]
    options = _vm_options(hypervisor)
    if not ctx.caller.is_root_admin:
        for name in (denied or DENIED_DEFAULT).split(","):
            options.pop(name.strip(), None)
    return ObjectResult({"details": _as_hash_map(options)}, "detailoptions")


COMMANDS: list[Command] = [
    declare(
        "listDetailOptions",
        subsystem="tag",
        handler=list_detail_options,
        summary="The settings a VM or template may carry and their allowed values, for its "
        "hypervisor; settings denied to users are left out for non-root callers.",
    ),
]
