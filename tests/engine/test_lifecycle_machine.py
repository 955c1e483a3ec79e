"""A hypothesis state machine over the VM and volume lifecycle, through the real API.

Rules deploy, start, stop, reboot, destroy, recover and expunge VMs and attach and detach
data volumes, each waiting for its job; after every rule the database must be consistent:
no VM left transitioning, host capacity equal to what running VMs hold, resource counts
equal to what the rows imply, no IP or MAC used twice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, create_engine, text

from compat_api.signing import sign
from migrate.schema import sync_url
from tests.shared_facts import ROOT

TRANSITIONING = ("Starting", "Stopping", "Expunging", "Migrating")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cloud:
    """A `stackshift serve` process on its own database, and a signed client for it."""

    def __init__(self, db_url: str) -> None:
        init = subprocess.run(
            [sys.executable, "-m", "compat_api.cli", "db", "init", "--db", db_url, "--hosts", "2"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        lines = init.stdout.splitlines()
        # The root admin has no resource limits, so examples can keep adding VMs.
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("root admin"))
        self.key = lines[at + 1].split(":", 1)[1].strip()
        self.secret = lines[at + 2].split(":", 1)[1].strip()
        self.port = _free_port()
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compat_api.cli",
                "serve",
                "--db",
                db_url,
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.sql: Engine = create_engine(sync_url(db_url))
        self._wait_up()
        self.ids = self._ids()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("server did not start")

    def _ids(self) -> dict[str, str]:
        zone = self.call("listZones")["listzonesresponse"]["zone"][0]["id"]
        offerings = self.call("listServiceOfferings")["listserviceofferingsresponse"][
            "serviceoffering"
        ]
        templates = self.call("listTemplates", templatefilter="executable")[
            "listtemplatesresponse"
        ]["template"]
        disks = self.call("listDiskOfferings")["listdiskofferingsresponse"]["diskoffering"]
        small = min(offerings, key=lambda o: o.get("memory", 0))
        fixed = next(d for d in disks if not d.get("iscustomized"))
        return {
            "zoneid": zone,
            "serviceofferingid": small["id"],
            "templateid": templates[0]["id"],
            "diskofferingid": fixed["id"],
        }

    def call(self, command: str, **params: str) -> Any:
        pairs = {"command": command, "response": "json", "apiKey": self.key, **params}
        pairs["signature"] = sign(pairs.items(), self.secret)
        body = urllib.parse.urlencode(pairs).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/client/api", data=body)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def run(self, command: str, **params: str) -> dict[str, Any]:
        """Submit an async command and wait for its job; the finished job's body."""
        reply = self.call(command, **params)[f"{command.lower()}response"]
        if "jobid" not in reply:
            return {"jobstatus": 2, "jobresult": reply}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = self.call("queryAsyncJobResult", jobid=reply["jobid"])[
                "queryasyncjobresultresponse"
            ]
            if body["jobstatus"] != 0:
                return dict(body)
            time.sleep(0.03)
        raise AssertionError(f"{command} job never finished")

    def close(self) -> None:
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=60)
        self.sql.dispose()


@pytest.fixture
def cloud(db_url: str) -> Iterator[Cloud]:
    live = Cloud(db_url)
    try:
        yield live
    finally:
        live.close()


class Lifecycle(RuleBasedStateMachine):
    cloud: Cloud
    vms = Bundle("vms")
    volumes = Bundle("volumes")

    @rule(target=vms, start=st.booleans())
    def deploy(self, start: bool) -> str:
        done = self.cloud.run(
            "deployVirtualMachine",
            startvm=str(start).lower(),
            **{k: v for k, v in self.cloud.ids.items() if k != "diskofferingid"},
        )
        assert done["jobstatus"] == 1, done
        return str(done["jobresult"]["virtualmachine"]["id"])

    @rule(
        vm=vms,
        command=st.sampled_from(
            [
                "startVirtualMachine",
                "stopVirtualMachine",
                "rebootVirtualMachine",
                "destroyVirtualMachine",
            ]
        ),
    )
    def act(self, vm: str, command: str) -> None:
        self.cloud.run(command, id=vm)  # refusals for the wrong state are part of the game

    @rule(vm=vms)
    def recover(self, vm: str) -> None:
        self.cloud.call("recoverVirtualMachine", id=vm)

    @rule(vm=consumes(vms))
    def expunge(self, vm: str) -> None:
        self.cloud.run("destroyVirtualMachine", id=vm, expunge="true")

    @rule(target=volumes)
    def create_volume(self) -> str:
        done = self.cloud.run(
            "createVolume",
            name="data",
            zoneid=self.cloud.ids["zoneid"],
            diskofferingid=self.cloud.ids["diskofferingid"],
        )
        assert done["jobstatus"] == 1, done
        return str(done["jobresult"]["volume"]["id"])

    @rule(volume=volumes, vm=vms)
    def attach(self, volume: str, vm: str) -> None:
        self.cloud.run("attachVolume", id=volume, virtualmachineid=vm)

    @rule(volume=volumes)
    def detach(self, volume: str) -> None:
        self.cloud.run("detachVolume", id=volume)

    def _one(self, sql: str) -> list[Any]:
        with self.cloud.sql.connect() as conn:
            return list(conn.execute(text(sql)).all())

    @invariant()
    def nothing_left_transitioning(self) -> None:
        stuck = self._one(
            "SELECT uuid, state FROM vm_instance WHERE removed IS NULL AND state IN ('Starting','Stopping','Expunging','Migrating')"
        )
        assert not stuck, stuck

    @invariant()
    def capacity_matches_running_vms(self) -> None:
        rows = self._one(
            "SELECT c.host_id, c.used_capacity, COALESCE(SUM(o.ram_size), 0) * 1048576 FROM op_host_capacity c "
            "LEFT JOIN vm_instance v ON v.host_id = c.host_id AND v.removed IS NULL AND v.state = 'Running' "
            "LEFT JOIN service_offering o ON o.id = v.service_offering_id "
            "WHERE c.capacity_type = 0 GROUP BY c.host_id, c.used_capacity"
        )
        assert all(int(used) == int(held) for _, used, held in rows), rows

    @invariant()
    def counts_match_rows(self) -> None:
        rows = self._one(
            "SELECT a.id, rc.count, (SELECT COUNT(*) FROM vm_instance v WHERE v.account_id = a.id AND v.type = 'User' "
            "AND v.removed IS NULL AND v.state NOT IN ('Destroyed', 'Expunging', 'Error')) "
            "FROM account a JOIN resource_count rc ON rc.account_id = a.id AND rc.type = 'user_vm' WHERE a.removed IS NULL"
        )
        assert all(int(count) == int(actual) for _, count, actual in rows), rows

    @invariant()
    def no_address_or_mac_twice(self) -> None:
        ips = self._one(
            "SELECT ip4_address, COUNT(*) FROM nics WHERE removed IS NULL AND ip4_address IS NOT NULL GROUP BY ip4_address HAVING COUNT(*) > 1"
        )
        macs = self._one(
            "SELECT mac_address, COUNT(*) FROM nics WHERE removed IS NULL GROUP BY mac_address HAVING COUNT(*) > 1"
        )
        assert not ips and not macs, (ips, macs)


def test_lifecycle_state_machine(cloud: Cloud) -> None:
    Lifecycle.cloud = cloud
    chosen = settings(
        max_examples=int(os.environ.get("STACKSHIFT_MACHINE_EXAMPLES", "4")),
        stateful_step_count=14,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(Lifecycle, settings=chosen)
    with cloud.sql.connect() as conn:
        kinds = dict(
            conn.execute(
                text("SELECT job_status, COUNT(*) FROM async_job GROUP BY job_status")
            ).all()
        )
    # The machine really drove jobs (some are refused for the wrong state, by design).
    assert kinds.get(1, 0) >= 4 and kinds.get(0, 0) == 0, kinds
