"""queryAsyncJobResult and listAsyncJobs over async_job rows in CloudStack's format.

The golden bodies of the reference examples are reproduced byte for byte: the rows written
here carry the example's uuids, names and dates, and the example's account asks.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from schema_bridge import jobs
from schema_bridge.dialect import utc_now
from schema_bridge.seed_identity import (
    Credentials,
    add_resource_counts,
    create_child_domain,
    register_keys,
)
from schema_bridge.tables import account, async_job, domain, mshost, user, vm_instance
from schema_bridge.vm_rows import VmRequest, insert_vm
from tests.compat_api.commands.conformance import UNKNOWN, check_items, listed
from tests.compat_api.conftest import Api
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.shared_facts import golden

ACCOUNT_UUID = "3c2b1a09-8f7e-4d6c-b5a4-392817161514"
DOMAIN_UUID = "4e9b3c1a-5d7f-11f0-9a4b-0242ac120002"
USER_UUID = "b8a6f5f2-3a5c-4bb8-9d1e-6a0f0c4c7e21"
VM_UUID = "7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
JOB_UUID = "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b"
TAGS_JOB_UUID = "2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7a8b"
MS_UUID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
MSID = 345051234567
DEPLOY = "org.apache.cloudstack.api.command.user.vm.DeployVMCmd"
DELETE_TAGS = "org.apache.cloudstack.api.command.user.tag.DeleteTagsCmd"
USER_VM_RESPONSE = "org.apache.cloudstack.api.response.UserVmResponse"
VERSION = re.compile(r'cloud-stack-version="[^"]*"')


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


async def _acme(api: Api) -> Credentials:
    """The example's account: acme in ROOT/Customers/acme, user alice, fixed uuids."""
    now = utc_now()
    async with api.db.engine.begin() as conn:
        parent = api.domain_admin.domain_id
        domain_id = await create_child_domain(conn, "acme", parent, api.admin.account_id, now)
        await conn.execute(update(domain).where(domain.c.id == domain_id).values(uuid=DOMAIN_UUID))
        await add_resource_counts(conn, domain_id=domain_id)
        values = {"account_name": "acme", "uuid": ACCOUNT_UUID, "type": 0, "role_id": 4}
        result = await conn.execute(
            insert(account).values(domain_id=domain_id, created=now, state="enabled", **values)
        )
        account_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        await add_resource_counts(conn, account_id=account_id)
        result = await conn.execute(
            insert(user).values(
                uuid=USER_UUID, username="alice", password="x", account_id=account_id,
                state="enabled", created=now, source="UNKNOWN",
            )
        )  # fmt: skip
        user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        api_key, secret = await register_keys(conn, user_id, TEST_ENCRYPTION_KEY)
        await conn.execute(
            insert(mshost).values(
                msid=MSID, runid=1, name="ms1", uuid=MS_UUID, state="Up", version="4.20.2.0",
                service_ip="127.0.0.1", service_port=9090, last_update=now,
            )
        )  # fmt: skip
    return replace(
        api.user, username="alice", api_key=api_key, secret_key=secret, user_id=user_id,
        user_uuid=USER_UUID, account_id=account_id, account_uuid=ACCOUNT_UUID,
        account_name="acme", domain_id=domain_id, domain_uuid=DOMAIN_UUID,
        domain_path="/Customers/acme/",
    )  # fmt: skip


async def _acme_vm(api: Api, acme: Credentials) -> int:
    seed = api.seed
    request = VmRequest(
        seed.catalog.template_ids[0],
        seed.catalog.small_offering_id,
        seed.networking.guest_network_id,
    )
    vm = await insert_vm(api.db, acme, request)
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(vm_instance).where(vm_instance.c.id == vm.id).values(uuid=VM_UUID)
        )
    return vm.id


async def _job(api: Api, who: Credentials, **values: Any) -> int:
    info = jobs.cmd_info(
        {"command": "deployVirtualMachine", "response": "json", "name": "web-01"},
        user_id=who.user_id, account_id=who.account_id, entity_uuid=VM_UUID, http_method="POST",
        event_type="VM.CREATE",
    )  # fmt: skip
    new = jobs.NewJob(
        uuid=values.pop("uuid", JOB_UUID), user_id=who.user_id, account_id=who.account_id,
        cmd=values.pop("cmd", DEPLOY), cmd_info=info, msid=values.pop("msid", MSID), **values,
    )  # fmt: skip
    async with api.db.engine.begin() as conn:
        return await jobs.insert_job(conn, new)


async def _complete(api: Api, job_id: int, when: str, **values: Any) -> None:
    async with api.db.engine.begin() as conn:
        await jobs.complete_job(conn, job_id, when=_at(when), **values)


async def _same_as_golden(api: Api, who: Credentials, name: str, jobid: str) -> None:
    reply = await api.signed("queryAsyncJobResult", who, jobid=jobid)
    assert reply.status == 200
    assert reply.text == golden(f"queryAsyncJobResult.{name}.json")
    xml = await api.signed("queryAsyncJobResult", who, fmt="xml", jobid=jobid)
    served = VERSION.search(xml.text)
    assert served is not None
    assert xml.text == VERSION.sub(served.group(0), golden(f"queryAsyncJobResult.{name}.xml"))


def _golden_vm() -> dict[str, Any]:
    body = json.loads(golden("queryAsyncJobResult.succeeded.json"))
    vm: dict[str, Any] = body["queryasyncjobresultresponse"]["jobresult"]["virtualmachine"]
    return vm


@pytest.mark.parity("queryAsyncJobResult")
async def test_golden_bodies_byte_for_byte(api: Api) -> None:
    acme = await _acme(api)
    vm_id = await _acme_vm(api, acme)
    created = _at("2026-01-15T10:20:11")
    job_id = await _job(
        api, acme, instance_type="VirtualMachine", instance_id=vm_id, created=created
    )
    await _same_as_golden(api, acme, "pending", JOB_UUID)
    result = jobs.object_result(USER_VM_RESPONSE, "virtualmachine", _golden_vm())
    await _complete(
        api, job_id, "2026-01-15T10:20:58", status=jobs.SUCCEEDED, result_code=0, result=result,
        msid=MSID,
    )  # fmt: skip
    await _same_as_golden(api, acme, "succeeded", JOB_UUID)
    text = json.loads(golden("queryAsyncJobResult.failed.json"))["queryasyncjobresultresponse"]
    failure = jobs.failure_result(
        "deployvirtualmachineresponse", 533, text["jobresult"]["errortext"], 4325
    )
    await _complete(
        api, job_id, "2026-01-15T10:20:40", status=jobs.FAILED, result_code=533, result=failure,
        msid=MSID,
    )  # fmt: skip
    await _same_as_golden(api, acme, "failed", JOB_UUID)
    tags_job = await _job(
        api, acme, uuid=TAGS_JOB_UUID, cmd=DELETE_TAGS, msid=None,
        created=_at("2026-01-15T10:25:00"),
    )  # fmt: skip
    await _complete(
        api, tags_job, "2026-01-15T10:25:01", status=jobs.SUCCEEDED, result_code=0,
        result=jobs.success_result(), msid=None,
    )  # fmt: skip
    await _same_as_golden(api, acme, "success-object", TAGS_JOB_UUID)


async def test_rows_are_written_in_cloudstacks_format(api: Api) -> None:
    job_id = await _job(api, api.user, msid=MSID)
    async with api.db.engine.connect() as conn:
        row = (await conn.execute(select(async_job).where(async_job.c.id == job_id))).one()
    assert (row.job_status, row.job_result_code, row.related) == (0, 0, "")
    assert row.job_dispatcher == "ApiAsyncJobDispatcher"
    assert (row.job_init_msid, row.job_executing_msid, row.removed) == (MSID, MSID, None)
    info = json.loads(row.job_cmd_info)
    assert info["ctxUserId"] == str(api.user.user_id)
    assert info["ctxAccountId"] == str(api.user.account_id)
    assert (info["uuid"], info["httpmethod"], info["cmdEventType"]) == (
        VM_UUID,
        "POST",
        "VM.CREATE",
    )
    assert all(isinstance(v, str) for v in info.values())
    stored = jobs.parse_result(jobs.success_result())
    assert stored == jobs.StoredResult(jobs.SUCCESS_CLASS, "null", {"success": True})
    assert jobs.success_result().startswith(
        "org.apache.cloudstack.api.response.SuccessResponse/null/"
    )
    slashes = jobs.object_result(USER_VM_RESPONSE, "virtualmachine", {"a": "x/y"})
    assert jobs.parse_result(slashes) == jobs.StoredResult(
        USER_VM_RESPONSE, "virtualmachine", {"a": "x/y"}
    )
    assert jobs.parse_result("garbage") is None and jobs.parse_result(None) is None


async def test_access_rules(api: Api) -> None:
    mine = await _job(api, api.user, uuid="5d0c1a6e-4b7f-4c8d-9e0f-1a2b3c4d5e6f")
    admins = await _job(api, api.admin, uuid="6e1d2b7f-5c8a-4d9e-8f10-2b3c4d5e6f70")
    del mine, admins
    ok = await api.signed(
        "queryAsyncJobResult", api.user, jobid="5d0c1a6e-4b7f-4c8d-9e0f-1a2b3c4d5e6f"
    )
    assert ok.status == 200 and ok.inner("queryasyncjobresultresponse")["jobstatus"] == 0
    # The domain admin of ROOT/Customers may read jobs of accounts below it.
    seen = await api.signed(
        "queryAsyncJobResult", api.domain_admin, jobid="5d0c1a6e-4b7f-4c8d-9e0f-1a2b3c4d5e6f"
    )
    assert seen.status == 200
    denied = await api.signed(
        "queryAsyncJobResult", api.user, jobid="6e1d2b7f-5c8a-4d9e-8f10-2b3c4d5e6f70"
    )
    code, cs, text = denied.error("queryasyncjobresultresponse")
    assert (code, cs) == (531, 4365)
    assert text.startswith(f'Account Account {{"id":{api.user.account_id},"accountName":"alice"')
    assert text.endswith(
        " is not authorized to see job id="
        + str(await _job_id(api, "6e1d2b7f-5c8a-4d9e-8f10-2b3c4d5e6f70"))
    )
    outside = await api.signed(
        "queryAsyncJobResult", api.domain_admin, jobid="6e1d2b7f-5c8a-4d9e-8f10-2b3c4d5e6f70"
    )
    code, cs, text = outside.error("queryasyncjobresultresponse")
    assert (code, cs) == (531, 4365)
    assert text.endswith(
        f"does not have permission to operate within domain id={api.admin.domain_uuid}"
    )
    admin = await api.signed(
        "queryAsyncJobResult", api.admin, jobid="5d0c1a6e-4b7f-4c8d-9e0f-1a2b3c4d5e6f"
    )
    assert admin.status == 200


async def _job_id(api: Api, uuid: str) -> int:
    async with api.db.engine.connect() as conn:
        value = await conn.scalar(select(async_job.c.id).where(async_job.c.uuid == uuid))
    assert value is not None
    return int(value)


async def test_bad_input(api: Api) -> None:
    root = "queryasyncjobresultresponse"
    missing = await api.signed("queryAsyncJobResult", api.user)
    assert missing.error(root) == (
        431, 9999, "Unable to execute API command queryasyncjobresult due to missing parameter jobid"
    )  # fmt: skip
    unknown = await api.signed("queryAsyncJobResult", api.user, jobid=UNKNOWN)
    assert unknown.error(root) == (
        431,
        9999,
        "Unable to execute API command queryasyncjobresult due to invalid value. Invalid parameter "
        f"jobid value={UNKNOWN} due to incorrect long value format, or entity does not exist or "
        "due to incorrect parameter annotation for the field in api cmd class.",
    )
    garbage = await api.signed("queryAsyncJobResult", api.user, jobid="not-a-job")
    assert garbage.status == 431
    bad_page = await api.signed("listAsyncJobs", api.user, page="x", pagesize=5)
    assert bad_page.error("listasyncjobsresponse") == (
        431, 9999, "Unable to execute API command listasyncjobs due to invalid value x for parameter page"
    )  # fmt: skip


async def test_list_async_jobs_scoping_paging_and_shape(api: Api) -> None:
    uuids = [f"7f2e3c80-6d9b-4eaf-9021-3c4d5e6f708{n}" for n in range(3)]
    for uuid in uuids:
        await _job(api, api.user, uuid=uuid, msid=None)
    other = await _job(api, api.admin, uuid="8a3f4d91-7eac-4fb0-8132-4d5e6f708192")
    total, items = await listed(api, "listAsyncJobs", api.user)
    assert total == 3 and [i["jobid"] for i in items] == uuids
    check_items("listAsyncJobs", items)
    assert items[0]["cmd"] == DEPLOY and items[0]["jobstatus"] == 0 and "completed" not in items[0]
    total, items = await listed(api, "listAsyncJobs", api.admin, listall="true")
    assert total == 4
    total, items = await listed(api, "listAsyncJobs", api.domain_admin, listall="true")
    assert total == 3
    count, page = await listed(api, "listAsyncJobs", api.user, page=2, pagesize=2)
    assert count == 3 and [i["jobid"] for i in page] == uuids[2:]
    past = await api.signed("listAsyncJobs", api.user, page=9, pagesize=2)
    assert past.inner("listasyncjobsresponse") == {"count": 3}
    total, _ = await listed(api, "listAsyncJobs", api.user, keyword="DeployVM")
    assert total == 3
    total, _ = await listed(api, "listAsyncJobs", api.user, keyword="Snapshot")
    assert total == 0
    # A finished job leaves the list (its row is stamped removed) but stays queryable.
    await _complete(api, other, "2026-01-15T10:00:00", status=jobs.SUCCEEDED, result_code=0,
                    result=jobs.success_result(), msid=None)  # fmt: skip
    total, _ = await listed(api, "listAsyncJobs", api.admin, listall="true")
    assert total == 3
