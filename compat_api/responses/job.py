"""The async job response (AsyncJobResponse): queryAsyncJobResult's flat fields and the
`asyncjobs` items of listAsyncJobs.

`jobresult` is rebuilt from the stored `<class>/<object>/<JSON>`: a response object is
wrapped in its object name, a SuccessResponse becomes {"success":true}, an
ExceptionResponse keeps only errorcode and errortext.
"""

from __future__ import annotations

from typing import Any, Final

from compat_api import shapes
from compat_api.caller import pretty_path
from compat_api.render import JavaMap
from schema_bridge import jobs

SHAPE = shapes.of("queryAsyncJobResult")
LIST_SHAPE = shapes.of("listAsyncJobs")
# Map-typed fields of response objects: a JSON object, but Java's Map.toString() in XML.
MAP_FIELDS: Final = frozenset({"details", "vnfdetails", "volumecheckresult", "volumerepairresult"})


def _maps(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key in MAP_FIELDS:
            return JavaMap({k: str(v) for k, v in value.items()})
        return {k: _maps(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_maps(item) for item in value]
    return value


def job_result(stored: jobs.StoredResult) -> dict[str, Any]:
    payload = stored.payload if isinstance(stored.payload, dict) else {}
    if stored.java_class == jobs.SUCCESS_CLASS:
        out: dict[str, Any] = {"success": bool(payload.get("success", True))}
        if payload.get("displaytext") is not None:
            out["details"] = payload["displaytext"]
        return out
    if stored.java_class == jobs.EXCEPTION_CLASS:
        return {"errorcode": payload.get("errorcode"), "errortext": payload.get("errortext")}
    return {stored.object_name or "null": _maps(payload)}


def _values(row: Any, instance_uuid: str | None) -> dict[str, Any]:
    stored = jobs.parse_result(row.job_result)
    has_instance = row.instance_type is not None and row.instance_id is not None
    return {
        "accountid": row.account_uuid,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domainpath": pretty_path(row.domain_path),
        "userid": row.user_uuid,
        "cmd": row.job_cmd,
        "jobprocstatus": int(row.job_process_status or 0),
        "jobresultcode": int(row.job_result_code or 0),
        "jobresulttype": None if stored is None else "object",
        "jobresult": None if stored is None else job_result(stored),
        "jobinstancetype": row.instance_type if has_instance else None,
        "jobinstanceid": instance_uuid if has_instance else None,
        "managementserverid": row.ms_uuid,
        "managementservername": row.ms_name,
        "created": row.created,
        # Completion stamps `removed`; that is the time the API reports.
        "completed": row.removed if row.job_status != jobs.IN_PROGRESS else None,
        "jobid": row.uuid,
        "jobstatus": int(row.job_status or 0),
    }


def present(row: Any, instance_uuid: str | None) -> dict[str, Any]:
    return SHAPE.build(_values(row, instance_uuid))


def present_item(row: Any, instance_uuid: str | None) -> dict[str, Any]:
    return LIST_SHAPE.build(_values(row, instance_uuid))
