"""Response envelopes in JSON and XML, byte-compatible with CloudStack's serialisers.

Values are plain Python: str, int, float, bool, datetime, list of dicts (object lists),
list of str, dict (a nested object, rendered as an element of its own in XML) and JavaMap
(a string map, rendered in XML as Java's Map.toString()). None values are never emitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from compat_api.errors import ApiError

JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "text/xml; charset=UTF-8"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'
_XML_ENTITIES = {'"': "&quot;", "'": "&apos;"}


class JavaMap(dict[str, str]):
    """A map field: a JSON object, but Java's toString() text in XML."""


@dataclass
class ListResult:
    items: list[dict[str, Any]]
    count: int
    object_name: str


@dataclass
class ObjectResult:
    obj: dict[str, Any]
    object_name: str


@dataclass
class FlatResult:
    fields: dict[str, Any]


@dataclass
class SuccessResult:
    displaytext: str | None = None


@dataclass
class AsyncResult:
    jobid: str
    id: str | None = None


Result = ListResult | ObjectResult | FlatResult | SuccessResult | AsyncResult


@dataclass
class Body:
    status: int
    content_type: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def cs_date(when: datetime) -> str:
    """CloudStack's date format, in UTC: 2025-11-05T09:12:44+0000."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def inner(result: Result) -> dict[str, Any]:
    """The object under the root name, before serialisation."""
    if isinstance(result, ListResult):
        if result.count == 0:
            return {}
        if not result.items:
            return {"count": result.count}
        return {"count": result.count, result.object_name: result.items}
    if isinstance(result, ObjectResult):
        return {result.object_name: result.obj}
    if isinstance(result, FlatResult):
        return result.fields
    if isinstance(result, SuccessResult):
        out: dict[str, Any] = {"success": True}
        if result.displaytext is not None:
            out["displaytext"] = result.displaytext
        return out
    return {"id": result.id, "jobid": result.jobid} if result.id else {"jobid": result.jobid}


def jsonable(value: Any) -> Any:
    """The value with dates as CloudStack writes them, ready for json.dumps anywhere."""
    if isinstance(value, datetime):
        return cs_date(value)
    if isinstance(value, dict):
        return (
            type(value)((k, jsonable(v)) for k, v in value.items())
            if isinstance(value, JavaMap)
            else {k: jsonable(v) for k, v in value.items()}
        )
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return cs_date(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(root: str, content: dict[str, Any]) -> str:
    return json.dumps(
        {root: content}, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return cs_date(value)
    return escape(str(value), _XML_ENTITIES)


def _xml_fields(content: dict[str, Any], out: list[str]) -> None:
    for name, value in content.items():
        if value is None:
            continue
        if isinstance(value, JavaMap):
            text = "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
            out.append(f"<{name}>{escape(text, _XML_ENTITIES)}</{name}>")
        elif isinstance(value, dict):
            out.append(f"<{name}>")
            _xml_fields(value, out)
            out.append(f"</{name}>")
        elif isinstance(value, list):
            _xml_list(name, value, out)
        else:
            out.append(f"<{name}>{_xml_text(value)}</{name}>")


def _xml_list(name: str, items: list[Any], out: list[str]) -> None:
    for item in items:
        if isinstance(item, dict):
            out.append(f"<{name}>")
            _xml_fields(item, out)
            out.append(f"</{name}>")
        else:
            # Upstream quirk: string list items are not XML-escaped.
            out.append(f"<{name}>{item}</{name}>")


def to_xml(root: str, content: dict[str, Any], version: str | None) -> str:
    attr = f' cloud-stack-version="{version}"' if version else ""
    out = [XML_HEAD, f"<{root}{attr}>"]
    _xml_fields(content, out)
    out.append(f"</{root}>")
    return "".join(out)


def render(root: str, content: dict[str, Any], fmt: str, version: str | None) -> Body:
    if fmt == "json":
        return Body(200, JSON_TYPE, to_json(root, content))
    return Body(200, XML_TYPE, to_xml(root, content, version))


def error_content(error: ApiError, fmt: str) -> dict[str, Any]:
    content: dict[str, Any] = {"uuidList": []} if fmt == "json" else {}
    content["errorcode"] = error.errorcode
    if error.cserrorcode is not None:
        content["cserrorcode"] = error.cserrorcode
    content["errortext"] = error.errortext
    return content


def render_error(root: str, error: ApiError, fmt: str, version: str | None) -> Body:
    body = render(root, error_content(error, fmt), fmt, version)
    body.status = error.errorcode
    # The servlet adds X-Description with the error text; header values must stay one line.
    body.headers["X-Description"] = error.errortext.replace("\r", " ").replace("\n", " ")
    return body


def response_format(value: str | None) -> str:
    """`response=json` in any case selects JSON; everything else is XML."""
    return "json" if value is not None and value.lower() == "json" else "xml"
