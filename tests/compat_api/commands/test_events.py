"""listEvents against a live server on both backends: shape, order, scoping, filters, errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from schema_bridge import events
from schema_bridge.dialect import utc_now
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import event
from tests.compat_api.commands.conformance import check_bad_input, check_items, check_paging, listed
from tests.compat_api.conftest import Api

ROOT = "listeventsresponse"


async def _event(
    api: Api, who: Credentials, kind: str, created: datetime, **extra: Any
) -> tuple[int, str]:
    """One event row of `who`, plus column overrides written straight to the table."""
    columns = {k: v for k, v in extra.items() if k in ("archived", "display")}
    fields = {k: v for k, v in extra.items() if k not in columns}
    new = events.NewEvent(
        type=kind,
        description=fields.pop("description", f"{kind} done"),
        user_id=who.user_id,
        account_id=who.account_id,
        domain_id=who.domain_id,
        created=created,
        **fields,
    )
    async with api.db.engine.begin() as conn:
        event_id = await events.record(conn, new)
        if columns:
            await conn.execute(update(event).where(event.c.id == event_id).values(**columns))
        uuid = await conn.scalar(select(event.c.uuid).where(event.c.id == event_id))
    return event_id, str(uuid)


async def _history(api: Api) -> dict[str, str]:
    day = datetime(2026, 1, 10, 10, 0, 0)
    made = {
        "create": await _event(
            api, api.user, "VM.CREATE", day, resource_id=api.user.user_id, resource_type="User"
        ),
        "start": await _event(
            api,
            api.user,
            "VM.START",
            day + timedelta(days=1),
            level="ERROR",
            description="start failed",
        ),
        "login": await _event(api, api.domain_admin, "USER.LOGIN", day + timedelta(days=2)),
        "admin": await _event(api, api.admin, "USER.LOGIN", day + timedelta(days=3)),
        "stop": await _event(api, api.user, "VM.STOP", day + timedelta(days=4), archived=True),
        "hidden": await _event(api, api.user, "VM.DESTROY", day + timedelta(days=5), display=False),
    }
    return {name: uuid for name, (_, uuid) in made.items()}


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_events_shape_order_and_paging(api: Api) -> None:
    made = await _history(api)
    count, items = await listed(api, "listEvents", api.admin, listall="true")
    assert _ids(items) == [made[k] for k in ("hidden", "admin", "login", "start", "create")]
    assert count == 5
    check_items("listEvents", items)
    first = items[-1]
    assert first["type"] == "VM.CREATE" and first["username"] == "alice"
    assert first["account"] == "alice" and first["domainpath"] == "ROOT/Customers"
    assert first["resourceid"] == api.user.user_uuid and first["resourcename"] == "alice"
    assert first["created"] == "2026-01-10T10:00:00+0000" and "archived" not in first
    await check_paging(api, "listEvents", api.admin, listall="true")
    await check_bad_input(api, "listEvents", api.admin, listall="true")


async def test_events_scoping(api: Api) -> None:
    made = await _history(api)
    _, mine = await listed(api, "listEvents", api.user, listall="true")
    assert _ids(mine) == [made["start"], made["create"]]  # archived and hidden ones left out
    _, subtree = await listed(api, "listEvents", api.domain_admin, listall="true")
    assert _ids(subtree) == [made["login"], made["start"], made["create"]]
    _, own = await listed(api, "listEvents", api.admin)
    assert _ids(own) == [made["admin"]]
    _, domain = await listed(api, "listEvents", api.admin, domainid=api.user.domain_uuid)
    assert _ids(domain) == [made["hidden"], made["login"], made["start"], made["create"]]
    refused = await api.signed("listEvents", api.user, account="customers-admin")
    assert refused.status == 531


async def test_events_filters(api: Api) -> None:
    made = await _history(api)

    async def ids(**params: Any) -> list[str]:
        return _ids((await listed(api, "listEvents", api.admin, listall="true", **params))[1])

    assert await ids(type="VM.START") == [made["start"]]
    assert await ids(level="ERROR") == [made["start"]]
    assert await ids(keyword="failed") == [made["start"]]
    assert await ids(startdate="2026-01-11", enddate="2026-01-12") == [made["login"], made["start"]]
    assert await ids(startdate="2026-01-12 10:00:01") == [made["hidden"], made["admin"]]
    assert await ids(enddate="2026-01-10T10:00:00+0000") == [made["create"]]
    assert await ids(archived="true") == [made["stop"]]
    assert await ids(id=made["login"]) == [made["login"]]
    assert await ids(resourcetype="User", resourceid=api.user.user_uuid) == [made["create"]]
    assert await ids(resourcetype="Volume") == []


async def test_events_parent_and_pending(api: Api) -> None:
    now = utc_now()
    started_id, started = await _event(
        api, api.user, "VM.START", now - timedelta(seconds=100), state="Started"
    )
    done_id, _ = await _event(
        api, api.user, "VM.STOP", now - timedelta(seconds=200), state="Started"
    )
    await _event(api, api.user, "VM.STOP", now - timedelta(seconds=150), start_id=done_id)
    _, pending = await listed(api, "listEvents", api.user, entrytime=1000, duration=10)
    assert _ids(pending) == [started]
    _, completion = await listed(api, "listEvents", api.user, startid=started, type="VM.START")
    assert completion == []
    await _event(api, api.user, "VM.START", now, start_id=started_id)
    _, (child,) = await listed(api, "listEvents", api.user, startid=started)
    assert child["parentid"] == started


async def test_events_bad_input(api: Api) -> None:
    async def error(**params: Any) -> tuple[int, int | None, str]:
        return (await api.signed("listEvents", api.user, **params)).error(ROOT)

    assert await error(startdate="yesterday") == (
        431,
        9999,
        "Unable to parse date yesterday for command listevents, please pass dates in the format "
        "mentioned in the api documentation",
    )
    assert await error(resourcetype="Gadget") == (431, 4350, "Invalid resourcetype")
    assert await error(resourceid=api.user.user_uuid) == (
        431,
        4350,
        "resourceid parameter must be used with resourcetype parameter",
    )
    assert await error(resourcetype="User", resourceid="nope") == (431, 4350, "Invalid resourceid")
    assert await error(resourcetype="Volume", resourceid=api.user.user_uuid) == (
        431,
        4350,
        "Invalid resourceid",
    )
    assert await error(entrytime=5, duration=10) == (
        431,
        4350,
        "Entry time must be greater than duration",
    )
    assert await error(duration="soon") == (
        431,
        9999,
        "Unable to execute API command listevents due to invalid value soon for parameter duration",
    )
    assert await error(page=1) == (
        431,
        4350,
        '"pagesize" parameter is required when "page" is specified',
    )
