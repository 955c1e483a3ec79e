"""`async_job` rows in CloudStack's own storage format: write, complete and read them.

The legacy server and this one must be able to read each other's jobs, so the format is
CloudStack's exactly:

* `job_cmd` is the Java class of the API command, `job_cmd_info` the JSON object of the
  request parameters (all strings) plus the context entries the dispatcher adds
  (`ctxUserId`, `ctxAccountId`, `ctxStartEventId`, `cmdEventType`, `ctxDetails`, `uuid`,
  `httpmethod`).
* `job_status` is 0 in progress, 1 succeeded, 2 failed, 3 cancelled; `job_result_code`
  0 or the error code.
* `job_result` is `<Java class>/<object name>/<JSON>` (ApiSerializerHelper): a response
  object, `SuccessResponse/null/{"success":true}`, or an `ExceptionResponse` carrying
  errorcode/errortext.
* `job_dispatcher` is ApiAsyncJobDispatcher, `related` '' for API jobs; completion sets
  `removed` (which the API reports as `completed`) and `job_complete_msid`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias

from sqlalchemy import Row, Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema_bridge.dialect import utc_now
from schema_bridge.paging import like_escape
from schema_bridge.scoping import restrict
from schema_bridge.tables import account, async_job, domain, mshost, table, user

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
IN_PROGRESS, SUCCEEDED, FAILED, CANCELLED = 0, 1, 2, 3
API_DISPATCHER: Final = "ApiAsyncJobDispatcher"
SEPARATOR: Final = "/"
RESPONSE_PACKAGE: Final = "org.apache.cloudstack.api.response"
SUCCESS_CLASS: Final = f"{RESPONSE_PACKAGE}.SuccessResponse"
EXCEPTION_CLASS: Final = f"{RESPONSE_PACKAGE}.ExceptionResponse"
# The table behind each job instance type, for the uuid the API shows as jobinstanceid.
INSTANCE_TABLES: Final = {
    "VirtualMachine": "vm_instance",
    "DomainRouter": "vm_instance",
    "ConsoleProxy": "vm_instance",
    "SystemVm": "vm_instance",
    "Volume": "volumes",
    "Snapshot": "snapshots",
    "VmSnapshot": "vm_snapshots",
    "Template": "vm_template",
    "Iso": "vm_template",
    "Network": "networks",
    "IpAddress": "user_ip_address",
    "Host": "host",
    "StoragePool": "storage_pool",
    "ImageStore": "image_store",
    "SecurityGroup": "security_group",
    "Vpc": "vpc",
    "Account": "account",
    "User": "user",
    "Domain": "domain",
    "Zone": "data_center",
    "Pod": "host_pod_ref",
    "Cluster": "cluster",
    "FirewallRule": "firewall_rules",
    "PortForwardingRule": "firewall_rules",
    "LoadBalancerRule": "firewall_rules",
    "AffinityGroup": "affinity_group",
    "Project": "projects",
}


def cmd_info(
    params: Mapping[str, str],
    *,
    user_id: int,
    account_id: int,
    entity_uuid: str | None,
    http_method: str,
    event_type: str | None = None,
    start_event_id: int | None = None,
    details: str | None = None,
) -> str:
    """`job_cmd_info`: the request's parameters plus the dispatcher's context, all strings."""
    info = {k: str(v) for k, v in params.items() if k.lower() not in ("signature", "sessionkey")}
    info.update(ctxUserId=str(user_id), ctxAccountId=str(account_id), httpmethod=http_method)
    if entity_uuid is not None:
        info["uuid"] = entity_uuid
    if event_type is not None:
        info["cmdEventType"] = event_type
    if start_event_id is not None:
        info["ctxStartEventId"] = str(start_event_id)
    if details is not None:
        info["ctxDetails"] = details
    return _json(info)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def object_result(java_class: str, object_name: str, payload: Mapping[str, Any]) -> str:
    """A job result holding a response object (e.g. UserVmResponse/virtualmachine/{...})."""
    return f"{java_class}{SEPARATOR}{object_name}{SEPARATOR}{_json(payload)}"


def success_result(display_text: str | None = None) -> str:
    """SuccessResponse has no object name, which Java writes as the text `null`."""
    payload: dict[str, Any] = {"success": True}
    if display_text is not None:
        payload["displaytext"] = display_text
    return f"{SUCCESS_CLASS}{SEPARATOR}null{SEPARATOR}{_json(payload)}"


def failure_result(
    response_name: str, errorcode: int, errortext: str, cserrorcode: int | None = None
) -> str:
    """An ExceptionResponse named after the failed command's response."""
    payload: dict[str, Any] = {"uuidList": [], "errorcode": errorcode}
    if cserrorcode is not None:
        payload["cserrorcode"] = cserrorcode
    payload["errortext"] = errortext
    return object_result(EXCEPTION_CLASS, response_name, payload)


@dataclass(frozen=True)
class StoredResult:
    java_class: str
    object_name: str | None
    payload: Any


def parse_result(text: str | None) -> StoredResult | None:
    """Split `<class>/<object>/<JSON>` (or `<class>/<JSON>`); None when absent or unreadable."""
    if not text:
        return None
    java_class, sep, rest = text.partition(SEPARATOR)
    if not sep:
        return None
    name: str | None = None
    if not rest.lstrip().startswith(("{", "[", '"')):
        name, sep, rest = rest.partition(SEPARATOR)
        if not sep:
            return None
    try:
        payload = json.loads(rest)
    except ValueError:
        return None
    return StoredResult(java_class, name, payload)


@dataclass(frozen=True)
class NewJob:
    uuid: str
    user_id: int
    account_id: int
    cmd: str
    cmd_info: str
    msid: int | None
    instance_type: str | None = None
    instance_id: int | None = None
    created: datetime | None = None


async def insert_job(conn: AsyncConnection, job: NewJob) -> int:
    """A submitted API job, in progress, as the dispatcher writes it before running it."""
    now = job.created or utc_now()
    result = await conn.execute(
        insert(async_job).values(
            uuid=job.uuid, user_id=job.user_id, account_id=job.account_id,
            instance_type=job.instance_type, instance_id=job.instance_id,
            job_cmd=job.cmd, job_cmd_info=job.cmd_info, job_cmd_ver=0,
            job_status=IN_PROGRESS, job_process_status=0, job_result_code=0,
            job_init_msid=job.msid, job_executing_msid=job.msid,
            job_dispatcher=API_DISPATCHER, related="", job_pending_signals=0,
            created=now, last_updated=now,
        )
    )  # fmt: skip
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("async_job insert returned no id")
    return int(key[0])


async def complete_job(
    conn: AsyncConnection,
    job_id: int,
    *,
    status: int,
    result_code: int,
    result: str | None,
    msid: int | None,
    when: datetime | None = None,
) -> None:
    """Finish a job as AsyncJobManager does: result, complete msid (the executing one is
    cleared), last_updated = removed = now."""
    now = when or utc_now()
    await conn.execute(
        update(async_job)
        .where(async_job.c.id == job_id)
        .values(
            job_status=status, job_result_code=result_code, job_result=result,
            job_complete_msid=msid, job_executing_msid=None, last_updated=now, removed=now,
        )
    )  # fmt: skip


def _jobs_query() -> Select[Any]:
    executing = mshost.alias("executing")
    return (
        select(
            async_job,
            account.c.uuid.label("account_uuid"),
            account.c.account_name,
            account.c.domain_id.label("owner_domain_id"),
            domain.c.uuid.label("domain_uuid"),
            domain.c.path.label("domain_path"),
            user.c.uuid.label("user_uuid"),
            executing.c.uuid.label("ms_uuid"),
            executing.c.name.label("ms_name"),
        )
        .select_from(async_job.join(account, account.c.id == async_job.c.account_id))
        .join(domain, domain.c.id == account.c.domain_id)
        .outerjoin(user, user.c.id == async_job.c.user_id)
        # The server running the job, or the one that finished it once it is done.
        .outerjoin(
            executing,
            executing.c.msid
            == func.coalesce(async_job.c.job_executing_msid, async_job.c.job_complete_msid),
        )
    )


async def job_by_id(conn: AsyncConnection, job_id: int) -> AnyRow | None:
    """A job with its owner, completed ones included (their `removed` is set)."""
    row: AnyRow | None = (await conn.execute(_jobs_query().where(async_job.c.id == job_id))).first()
    return row


@dataclass(frozen=True)
class JobFilter:
    keyword: str | None = None
    start_date: datetime | None = None
    msid: int | None = None
    account_ids: tuple[int, ...] | None = None
    domain_ids: tuple[int, ...] | None = None


async def job_page(
    conn: AsyncConnection, f: JobFilter, offset: int, limit: int | None
) -> tuple[list[AnyRow], int]:
    """listAsyncJobs' rows in id order and their total.

    CloudStack's search skips rows whose `removed` is set, and completing a job sets it,
    so finished jobs drop out of this list while queryAsyncJobResult still finds them.
    """
    query = _jobs_query().where(async_job.c.removed.is_(None))
    if f.keyword:
        query = query.where(async_job.c.job_cmd.like(like_escape(f.keyword), escape="\\"))
    if f.start_date is not None:
        query = query.where(async_job.c.created >= f.start_date.replace(tzinfo=None))
    if f.msid is not None:
        query = query.where(async_job.c.job_executing_msid == f.msid)
    query = restrict(
        query, async_job.c.account_id, account.c.domain_id, f.account_ids, f.domain_ids
    )
    count = select(func.count()).select_from(query.with_only_columns(async_job.c.id).subquery())
    total = int(await conn.scalar(count) or 0)
    if total == 0 or offset >= total:
        return [], total
    sliced = query.order_by(async_job.c.id).offset(offset)
    if limit is not None:
        sliced = sliced.limit(limit)
    return list((await conn.execute(sliced)).all()), total


async def instance_uuids(conn: AsyncConnection, rows: list[AnyRow]) -> dict[tuple[str, int], str]:
    """The uuid of each job's instance, one query per instance type present."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        kind, ident = row.instance_type, row.instance_id
        if kind in INSTANCE_TABLES and ident is not None:
            wanted.setdefault(kind, set()).add(int(ident))
    found: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        rows_table = table(INSTANCE_TABLES[kind])
        query = select(rows_table.c.id, rows_table.c.uuid).where(rows_table.c.id.in_(ids))
        for ident, uuid in (await conn.execute(query)).all():
            found[(kind, int(ident))] = str(uuid)
    return found
