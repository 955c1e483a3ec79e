"""listDomains on a live server, both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from schema_bridge.dialect import utc_now
from schema_bridge.seed_identity import Credentials, create_child_domain
from schema_bridge.seed_install import insert_row
from schema_bridge.tables import domain, resource_limit
from tests.compat_api.commands.conformance import (
    check_admin_only,
    check_bad_input,
    check_items,
    check_paging,
    listed,
)
from tests.compat_api.conftest import Api


async def _tree(api: Api) -> dict[str, int]:
    """Adds ROOT/Customers/Team, ROOT/Other and an inactive ROOT/Closed."""
    customers = api.user.domain_id
    async with api.db.engine.begin() as conn:
        team = await create_child_domain(conn, "Team", customers, 2, utc_now())
        other = await create_child_domain(conn, "Other", 1, 2, utc_now())
        closed = await create_child_domain(conn, "Closed", 1, 2, utc_now())
        await conn.execute(update(domain).where(domain.c.id == closed).values(state="Inactive"))
    return {"Team": team, "Other": other, "Closed": closed}


async def _uuid(api: Api, name: str) -> str:
    _, items = await listed(api, "listDomains", api.admin, name=name)
    return str(items[0]["id"])


async def _names(api: Api, who: Credentials, **params: Any) -> list[str]:
    _, items = await listed(api, "listDomains", who, **params)
    return [d["name"] for d in items]


async def test_domain_fields(api: Api) -> None:
    count, items = await listed(api, "listDomains", api.admin)
    assert count == 2
    check_items("listDomains", items)
    root, customers = items
    assert root["name"] == "ROOT" and root["path"] == "ROOT" and root["level"] == 0
    assert root["haschild"] is True and "parentdomainid" not in root
    assert root["vmlimit"] == "Unlimited" and root["vmavailable"] == "Unlimited"
    assert customers["path"] == "ROOT/Customers" and customers["parentdomainname"] == "ROOT"
    assert customers["parentdomainid"] == root["id"] and customers["haschild"] is False
    # alice's template (about 1.46 GiB) counts against her domain and every one above.
    assert customers["templatetotal"] == 1 and root["templatetotal"] == 1
    assert customers["secondarystoragetotal"] == root["secondarystoragetotal"] > 1.4


async def test_domain_scoping(api: Api) -> None:
    await _tree(api)
    admin, dadmin = api.admin, api.domain_admin
    assert await _names(api, admin) == ["ROOT", "Customers", "Team", "Other"]
    assert await _names(api, admin, listall="true") == ["ROOT", "Customers", "Team", "Other"]
    assert await _names(api, dadmin) == ["Customers"]
    assert await _names(api, dadmin, listall="true") == ["Customers", "Team"]
    assert await _names(api, dadmin, id=await _uuid(api, "Team")) == ["Team"]
    other = await _uuid(api, "Other")
    reply = await api.signed("listDomains", dadmin, id=other)
    assert reply.error("listdomainsresponse") == (
        531,
        4365,
        f"Account customers-admin does not have permission to operate within domain id={other}",
    )
    await check_admin_only(api, "listDomains", api.user)


async def test_domain_filters_and_details(api: Api) -> None:
    ids = await _tree(api)
    admin = api.admin
    assert await _names(api, admin, level=1) == ["Customers", "Other"]
    assert await _names(api, admin, keyword="er") == ["Customers", "Other"]
    assert await _names(api, admin, name="Team") == ["Team"]
    async with api.db.engine.begin() as conn:
        closed_uuid = await conn.scalar(
            domain.select().with_only_columns(domain.c.uuid).where(domain.c.id == ids["Closed"])
        )
    assert await _names(api, admin, id=closed_uuid) == []
    _, (team,) = await listed(api, "listDomains", admin, name="Team", details="min")
    check_items("listDomains", [team])
    assert "vmlimit" not in team and team["secondarystoragetotal"] == 0.0
    assert team["haschild"] is False
    reply = await api.signed("listDomains", admin, details="everything")
    assert reply.error("listdomainsresponse") == (
        431,
        4350,
        "The details parameter contains a non permitted value. The allowed values are "
        "[all, resource, min]",
    )


async def test_domain_limits_are_inherited(api: Api) -> None:
    await _tree(api)
    async with api.db.engine.begin() as conn:
        await insert_row(conn, resource_limit, domain_id=api.user.domain_id, type="user_vm", max=10)
        await insert_row(
            conn,
            resource_limit,
            domain_id=api.user.domain_id,
            type="primary_storage",
            max=50 * 1024**3,
        )
    _, items = await listed(api, "listDomains", api.domain_admin, listall="true")
    customers, team = items
    for item in (customers, team):
        assert (item["vmlimit"], item["vmavailable"]) == ("10", "10")
        assert item["primarystoragelimit"] == "50" and item["primarystoragetotal"] == 0
    # Without an explicit or inherited limit the max.domain.* setting (-1 here) applies.
    assert team["iplimit"] == "Unlimited"


async def test_domains_paging_and_bad_input(api: Api) -> None:
    await _tree(api)
    await check_paging(api, "listDomains", api.admin)
    await check_paging(api, "listDomains", api.domain_admin, listall="true")
    await check_bad_input(api, "listDomains", api.domain_admin)
    reply = await api.signed("listDomains", api.domain_admin, fmt="xml", name="Customers")
    assert reply.status == 200 and "<path>ROOT/Customers</path>" in reply.text
