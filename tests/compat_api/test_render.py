"""Envelopes byte for byte against the reference bodies."""

from __future__ import annotations

import pytest

from compat_api import errors, render
from tests.shared_facts import golden

VERSION = "4.22.0.0"
USER_UUID = "b8a6f5f2-3a5c-4bb8-9d1e-6a0f0c4c7e21"
VM_UUID = "0d6e5f41-9a7b-4c3d-8e2f-1a0b9c8d7e6f"

# (golden name, response name, error, authenticated)
CASES = [
    ("signature", "listzonesresponse", errors.signature_error(), False),
    ("unknown-command-apikey", "errorresponse", errors.signature_error("errorresponse"), False),
    ("session", "listzonesresponse", errors.session_error(), False),
    ("unknown-command-admin", "errorresponse", errors.unknown_command_admin("listZone"), True),
    ("role-denied", "errorresponse", errors.unavailable_command("listHosts", USER_UUID), True),
    (
        "missing-param",
        "deployvirtualmachineresponse",
        errors.missing_param("deployVirtualMachine", "zoneid"),
        True,
    ),
    ("empty-param", "deployvirtualmachineresponse", errors.empty_param("zoneid"), True),
    (
        "bad-number",
        "listvirtualmachinesresponse",
        errors.bad_value("listVirtualMachines", "abc", "page"),
        True,
    ),
    (
        "uuid-not-found",
        "startvirtualmachineresponse",
        errors.unknown_uuid("startVirtualMachine", "id", VM_UUID),
        True,
    ),
    (
        "pagesize",
        "listvirtualmachinesresponse",
        errors.invalid_parameter("Page size can't exceed max allowed page size value: 500"),
        True,
    ),
    ("permission", "stopvirtualmachineresponse", errors.permission_denied(), True),
    (
        "internal",
        "createvolumeresponse",
        errors.ApiError(530, errors.INTERNAL_TEXT, errors.CS_CLOUD_RUNTIME),
        True,
    ),
]


@pytest.mark.parametrize(("name", "root", "error", "authed"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_error_bodies(name: str, root: str, error: errors.ApiError, authed: bool, fmt: str) -> None:
    body = render.render_error(error.root or root, error, fmt, VERSION if authed else None)
    assert body.text == golden(f"error.{name}.{fmt}")
    assert body.status == error.errorcode
    assert body.content_type == (render.JSON_TYPE if fmt == "json" else render.XML_TYPE)


def test_malformed_map_error_from_the_parser() -> None:
    from compat_api import params

    with pytest.raises(errors.ApiError) as caught:
        params.map_params([("details[0]cpuNumber", "2")])
    body = render.render_error("deployvirtualmachineresponse", caught.value, "json", None)
    assert body.text == golden("error.malformed-map.json")
    assert body.status == 430


def test_empty_list_and_page_past_end() -> None:
    empty = render.inner(render.ListResult([], 0, "zone"))
    assert render.to_json("listzonesresponse", empty) == golden("listZones.empty.json")
    assert render.to_xml("listzonesresponse", empty, VERSION) == golden("listZones.empty.xml")
    assert render.to_json("listzonesresponse", render.inner(render.ListResult([], 3, "zone"))) == (
        '{"listzonesresponse":{"count":3}}'
    )


def test_async_accepted_bodies() -> None:
    accepted = render.inner(render.AsyncResult(jobid="j", id="v"))
    assert list(accepted) == ["id", "jobid"]
    assert render.inner(render.AsyncResult(jobid="j")) == {"jobid": "j"}


def test_xml_escapes_and_java_maps() -> None:
    content = {"a": "<&'\">", "details": render.JavaMap(cpuNumber="2", memory="2048"), "tags": []}
    text = render.to_xml("r", content, None)
    assert "<a>&lt;&amp;&apos;&quot;&gt;</a>" in text
    assert "<details>{cpuNumber=2, memory=2048}</details>" in text
    assert "<tags>" not in text


def test_json_keeps_non_ascii_and_html_raw() -> None:
    assert render.to_json("r", {"n": "Zürich <a>"}) == '{"r":{"n":"Zürich <a>"}}'
