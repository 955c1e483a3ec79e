"""Command declarations, one module per subsystem, assembled explicitly (no discovery)."""

from __future__ import annotations

from compat_api.commands import (
    accounts,
    addresses,
    capacity,
    catalog,
    comments,
    discovery,
    domains,
    events,
    hypervisors,
    infra,
    integrations,
    jobs,
    limits,
    network,
    os_types,
    service_providers,
    ssh,
    ssh_actions,
    tag_actions,
    tags,
    vm,
    vm_deploy,
    vm_groups,
    vm_lifecycle,
    vm_manage,
    vm_metrics,
    volume,
    volume_actions,
    volume_changes,
    vpc,
)
from compat_api.registry import Registry


def build_registry() -> Registry:
    return Registry(
        [
            *discovery.COMMANDS,
            *infra.COMMANDS,
            *accounts.COMMANDS,
            *limits.COMMANDS,
            *events.COMMANDS,
            *tags.COMMANDS,
            *ssh.COMMANDS,
            *vm.COMMANDS,
            *vm_lifecycle.COMMANDS,
            *vm_deploy.COMMANDS,
            *vm_manage.COMMANDS,
            *volume.COMMANDS,
            *jobs.COMMANDS,
            *catalog.COMMANDS,
            *network.COMMANDS,
            *domains.COMMANDS,
            *volume_actions.COMMANDS,
            *volume_changes.COMMANDS,
            *addresses.COMMANDS,
            *ssh_actions.COMMANDS,
            *tag_actions.COMMANDS,
            *capacity.COMMANDS,
            *hypervisors.COMMANDS,
            *integrations.COMMANDS,
            *vm_groups.COMMANDS,
            *vm_metrics.COMMANDS,
            *vpc.COMMANDS,
            *comments.COMMANDS,
            *service_providers.COMMANDS,
            *os_types.COMMANDS,
        ]
    )
