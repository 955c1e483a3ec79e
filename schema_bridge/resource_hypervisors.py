"""The hypervisor a template or a VM is for, looked up by uuid (detail options depend on it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.tables import vm_instance, vm_template


async def template_hypervisor(conn: AsyncConnection, uuid: str) -> tuple[bool, str | None]:
    """(found, hypervisor type) of the template with this uuid."""
    row = (
        await conn.execute(select(vm_template.c.hypervisor_type).where(vm_template.c.uuid == uuid))
    ).first()
    return (False, None) if row is None else (True, row[0])


async def vm_hypervisor(conn: AsyncConnection, uuid: str) -> tuple[bool, str | None]:
    """(found, hypervisor type) of the VM with this uuid."""
    row = (
        await conn.execute(select(vm_instance.c.hypervisor_type).where(vm_instance.c.uuid == uuid))
    ).first()
    return (False, None) if row is None else (True, row[0])
