"""From a host id to its hypervisor driver (the host row's hypervisor_type decides)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.hypervisor.driver import Driver, HypervisorError
from engine.hypervisor.registry import DriverRegistry
from engine.hypervisor.simulator import Simulator
from schema_bridge import vm_devices
from schema_bridge.db import Database


@dataclass
class HostDrivers:
    db: Database
    registry: DriverRegistry
    # Delays every Simulator host gets when first used (drills and failure tests).
    simulator_delays: tuple[tuple[str, float], ...] = ()
    _slowed: set[str] = field(default_factory=set)

    async def __call__(self, host_id: int) -> Driver:
        async with self.db.engine.connect() as conn:
            row = await vm_devices.host_row(conn, host_id)
        if row is None:
            raise HypervisorError("driver", None, f"host id {host_id} does not exist")
        driver = self.registry.driver_for(row.hypervisor_type, row.ip, row.name)
        if isinstance(driver, Simulator) and row.ip not in self._slowed:
            self._slowed.add(row.ip)
            for operation, seconds in self.simulator_delays:
                driver.delay(operation, seconds)
        return driver
