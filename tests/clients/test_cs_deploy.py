"""The real `cs` client deploying, stopping and destroying VMs with its own async polling
(library with fetch_result=True, and the CLI), against a live server on a real port."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import cs
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from compat_api.app import create_app
from compat_api.settings import Settings
from engine.hypervisor.simulator import simulators
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import data_center, host, service_offering, vm_instance, vm_template
from tests.compat_api.conftest import db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

POLL = "0.1"


@pytest.fixture
async def live(
    seeded_db: tuple[Database, SeedResult],
    aiohttp_server: Callable[..., Coroutine[Any, Any, TestServer]],
) -> tuple[str, SeedResult, Database]:
    db, seed = seeded_db
    simulators.reset()
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    settings = Settings(db_url=url, encryption_key=TEST_ENCRYPTION_KEY)
    server = await aiohttp_server(create_app(settings, db=db))
    return f"http://127.0.0.1:{server.port}/client/api", seed, db


async def _catalogue(db: Database, seed: SeedResult) -> dict[str, str]:
    """The uuids a deploy names: zone, small offering, first template."""
    async with db.engine.connect() as conn:

        async def uuid_of(table: Any, row_id: int) -> str:
            return str(await conn.scalar(select(table.c.uuid).where(table.c.id == row_id)))

        return {
            "zoneid": await uuid_of(data_center, seed.infrastructure.zone_id),
            "serviceofferingid": await uuid_of(service_offering, seed.catalog.small_offering_id),
            "templateid": await uuid_of(vm_template, seed.catalog.template_ids[0]),
        }


def _client(endpoint: str, who: Credentials) -> cs.CloudStack:
    return cs.CloudStack(
        endpoint=endpoint,
        key=who.api_key,
        secret=who.secret_key,
        fetch_result=True,
        poll_interval=float(POLL),
        job_timeout=60,
    )


async def _state(db: Database, uuid: str) -> tuple[str, Any]:
    async with db.engine.connect() as conn:
        query = select(vm_instance.c.state, vm_instance.c.removed).where(vm_instance.c.uuid == uuid)
        row = (await conn.execute(query)).one()
    return str(row.state), row.removed


async def test_library_deploys_stops_and_destroys(
    live: tuple[str, SeedResult, Database],
) -> None:
    endpoint, seed, db = live
    params = await _catalogue(db, seed)
    api = _client(endpoint, seed.identity.user)
    deployed = await asyncio.to_thread(lambda: api.deployVirtualMachine(name="cs-web", **params))
    vm = deployed["virtualmachine"]
    assert (vm["name"], vm["state"]) == ("cs-web", "Running")
    assert vm["nic"][0]["ipaddress"].startswith("10.1.")
    stopped = await asyncio.to_thread(lambda: api.stopVirtualMachine(id=vm["id"]))
    assert stopped["virtualmachine"]["state"] == "Stopped"
    assert await _state(db, vm["id"]) == ("Stopped", None)
    admin = _client(endpoint, seed.identity.admin)
    await asyncio.to_thread(lambda: admin.destroyVirtualMachine(id=vm["id"], expunge="true"))
    state, removed = await _state(db, vm["id"])
    assert state == "Expunging" and removed is not None


async def test_library_reports_a_failed_deploy(live: tuple[str, SeedResult, Database]) -> None:
    endpoint, seed, db = live
    params = await _catalogue(db, seed)
    async with db.engine.connect() as conn:
        addresses = (await conn.execute(select(host.c.private_ip_address))).scalars().all()
    for address in addresses:
        simulators.host(str(address)).fail("start", None, times=None, message="no power")
    api = _client(endpoint, seed.identity.user)
    with pytest.raises(cs.CloudStackApiException) as caught:
        await asyncio.to_thread(lambda: api.deployVirtualMachine(**params))
    assert caught.value.error["errorcode"] == 530
    assert "no power" in caught.value.error["errortext"]


async def _cli(endpoint: str, who: Credentials, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CLOUDSTACK_ENDPOINT": endpoint,
        "CLOUDSTACK_KEY": who.api_key,
        "CLOUDSTACK_SECRET": who.secret_key,
        "CLOUDSTACK_POLL_INTERVAL": POLL,
        "CLOUDSTACK_CONFIG": "/nonexistent",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cs",
        "--quiet",
        *args,
        env=env,
        cwd=str(Path(__file__).parent),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_cli_deploys_stops_and_destroys(live: tuple[str, SeedResult, Database]) -> None:
    endpoint, seed, db = live
    params = [f"{k}={v}" for k, v in (await _catalogue(db, seed)).items()]
    user = seed.identity.user
    code, out, err = await _cli(endpoint, user, "deployVirtualMachine", "name=cli-vm", *params)
    assert code == 0, err
    vm = json.loads(out)["virtualmachine"]
    assert vm["state"] == "Running"
    code, out, err = await _cli(endpoint, user, "--post", "stopVirtualMachine", f"id={vm['id']}")
    assert code == 0, err
    assert json.loads(out)["virtualmachine"]["state"] == "Stopped"
    code, out, err = await _cli(endpoint, user, "destroyVirtualMachine", f"id={vm['id']}")
    assert code == 0, err
    assert (await _state(db, vm["id"]))[0] == "Destroyed"
    code, out, err = await _cli(endpoint, user, "deployVirtualMachine", "name=9bad", *params)
    assert code != 0 and "431" in out + err
