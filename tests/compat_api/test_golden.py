"""Whole bodies byte for byte against the reference examples, with the example's data seeded."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from schema_bridge.tables import data_center, user
from tests.compat_api.conftest import Api
from tests.shared_facts import golden

ZONE = {
    "uuid": "a1b2c3d4-0001-4f00-8000-0000000000aa",
    "name": "zone-fra1",
    "dns1": "8.8.8.8",
    "dns2": None,
    "internal_dns1": "10.10.0.2",
    "internal_dns2": None,
    "description": None,
    "guest_network_cidr": "10.1.1.0/24",
    "zone_token": "8f3b1c66-2d0e-3a5b-9c7d-41e2f6a8b9c0",
    "dhcp_provider": "VirtualRouter",
    "domain": None,
    "domain_id": None,
    "networktype": "Advanced",
    "allocation_state": "Enabled",
    "type": "Core",
    "is_security_group_enabled": 0,
    "is_local_storage_enabled": 0,
    "ip6_dns1": None,
    "ip6_dns2": None,
}


async def _example_zone(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(update(data_center).values(**ZONE))


@pytest.mark.parity("listZones")
async def test_list_zones_admin_and_user(api: Api) -> None:
    await _example_zone(api)
    admin = await api.signed("listZones", api.admin)
    assert admin.text == golden("listZones.admin.json")
    xml = await api.signed("listZones", api.admin, fmt="xml")
    expected = golden("listZones.admin.xml").replace(
        'cloud-stack-version="4.22.0.0"', 'cloud-stack-version="4.20.2.0"'
    )
    assert xml.text == expected
    user_reply = await api.signed("listZones", api.user)
    assert user_reply.text == golden("listZones.user.json")


@pytest.mark.parity("listZones")
async def test_list_zones_empty(api: Api) -> None:
    reply = await api.signed("listZones", api.admin, name="no-such-zone")
    assert reply.text == golden("listZones.empty.json")
    xml = await api.signed("listZones", api.admin, fmt="xml", name="no-such-zone")
    assert xml.text == golden("listZones.empty.xml").replace("4.22.0.0", "4.20.2.0")


@pytest.mark.parity("login")
async def test_login_response(api: Api) -> None:
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(user)
            .where(user.c.id == api.user.user_id)
            .values(firstname="Alice", lastname="Ng", timezone="Europe/Berlin")
        )
    reply = await api.raw(
        "POST",
        {
            "command": "login",
            "username": api.user.username,
            "password": api.user.password,
            "domain": api.user.domain_path,
            "response": "json",
        },
    )
    body = reply.json["loginresponse"]
    offset = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).utcoffset()
    assert offset is not None
    expected = json.loads(golden("login.response.json"))["loginresponse"]
    expected.update(
        username=api.user.username,
        userid=api.user.user_uuid,
        domainid=api.user.domain_uuid,
        account=api.user.account_name,
        sessionkey=body["sessionkey"],
        timezoneoffset=repr(offset.total_seconds() / 3600),
    )
    assert reply.text == json.dumps(
        {"loginresponse": expected}, separators=(",", ":"), ensure_ascii=False
    )
    cookies = reply.headers.getall("Set-Cookie")
    assert any(re.fullmatch(r"JSESSIONID=[0-9A-F]{32}; Path=/client; HttpOnly", c) for c in cookies)
    assert f"sessionkey={body['sessionkey']};HttpOnly;SameSite=Lax" in cookies
