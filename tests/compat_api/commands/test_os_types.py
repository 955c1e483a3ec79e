"""listOsCategories (the 4.21/4.22 deploy wizard's category tabs) and listOsTypes' category
filter, on the seeded guest_os_category rows."""

from __future__ import annotations

from sqlalchemy import select

from schema_bridge.tables import guest_os_category
from tests.compat_api.commands.conformance import (
    UNKNOWN,
    check_bad_input,
    check_items,
    check_paging,
    check_types_bare,
    listed,
)
from tests.compat_api.conftest import Api


async def _seeded(api: Api) -> list[dict[str, str]]:
    c = guest_os_category.c
    async with api.db.engine.connect() as conn:
        rows = (await conn.execute(select(c.uuid, c.name).order_by(c.id))).all()
    return [{"id": row.uuid, "name": row.name} for row in rows]


async def test_os_categories_list_every_seeded_category_to_every_role(api: Api) -> None:
    seeded = await _seeded(api)
    assert {"CentOS", "Debian", "Ubuntu", "Windows", "Other"} <= {c["name"] for c in seeded}
    for who in (api.admin, api.domain_admin, api.user):
        total, items = await listed(api, "listOsCategories", who)
        assert (total, items) == (len(seeded), seeded)
    check_items("listOsCategories", items)
    check_types_bare("listOsCategories", items, {"id": "string", "name": "string"})
    reply = await api.signed("listOsCategories", api.user)
    assert list(reply.json["listoscategoriesresponse"]) == ["count", "oscategory"]


async def test_os_categories_the_wizard_call(api: Api) -> None:
    """The 4.21 params the UI sends have no column in the 4.20 schema: accepted, no filter."""
    seeded = await _seeded(api)
    total, items = await listed(
        api, "listOsCategories", api.user, showicon="true", isfeatured="true", isiso="false"
    )
    assert (total, items) == (len(seeded), seeded)
    assert all("icon" not in item for item in items)


async def test_os_categories_by_id_name_and_keyword(api: Api) -> None:
    seeded = await _seeded(api)
    ubuntu = next(c for c in seeded if c["name"] == "Ubuntu")
    assert await listed(api, "listOsCategories", api.user, id=ubuntu["id"]) == (1, [ubuntu])
    assert await listed(api, "listOsCategories", api.user, name="Ubuntu") == (1, [ubuntu])
    # Both match anywhere in the name, ignoring case, as the server's LIKE does.
    windows = next(c for c in seeded if c["name"] == "Windows")
    assert await listed(api, "listOsCategories", api.user, name="indow") == (1, [windows])
    debian = next(c for c in seeded if c["name"] == "Debian")
    assert await listed(api, "listOsCategories", api.user, keyword="debi") == (1, [debian])
    both = await listed(api, "listOsCategories", api.user, keyword="u", name="ubu")
    assert both == (1, [ubuntu])
    # LIKE wildcards in the text are taken literally.
    assert await listed(api, "listOsCategories", api.user, keyword="%") == (0, [])
    assert await listed(api, "listOsCategories", api.user, name="Plan 9") == (0, [])


async def test_os_categories_paging_and_bad_input(api: Api) -> None:
    await check_paging(api, "listOsCategories", api.user)
    total, items = await listed(api, "listOsCategories", api.user, page=2, pagesize=4)
    assert total == len(await _seeded(api)) and len(items) == 4
    await check_bad_input(api, "listOsCategories", api.user)
    await check_bad_input(api, "listOsCategories", api.admin, keyword="Ubuntu")


async def test_os_types_by_category_and_unknown_category(api: Api) -> None:
    seeded = await _seeded(api)
    ubuntu = next(c for c in seeded if c["name"] == "Ubuntu")
    total, items = await listed(api, "listOsTypes", api.user, oscategoryid=ubuntu["id"])
    assert total >= 1 and all(i["oscategoryid"] == ubuntu["id"] for i in items)
    assert all(i["oscategoryname"] == "Ubuntu" for i in items)
    reply = await api.signed("listOsTypes", api.user, oscategoryid=UNKNOWN)
    assert reply.error("listostypesresponse") == (
        431,
        9999,
        "Unable to execute API command listostypes due to invalid value. Invalid parameter "
        f"oscategoryid value={UNKNOWN} due to incorrect long value format, or entity does not "
        "exist or due to incorrect parameter annotation for the field in api cmd class.",
    )


async def test_templates_by_os_category(api: Api) -> None:
    """The 4.21+ wizard lists the images of one OS category at a time (templatefilter=all
    for an admin): only templates whose guest OS is of that category, so the system
    template (Debian) never shows under Ubuntu."""
    categories = {c["name"]: c["id"] for c in await _seeded(api)}
    _, ubuntu = await listed(
        api, "listTemplates", api.admin, templatefilter="all", oscategoryid=categories["Ubuntu"]
    )
    _, debian = await listed(
        api, "listTemplates", api.admin, templatefilter="all", oscategoryid=categories["Debian"]
    )
    _, every = await listed(api, "listTemplates", api.admin, templatefilter="all")
    assert ubuntu and all("Ubuntu" in t["ostypename"] for t in ubuntu)
    assert {t["templatetype"] for t in debian} == {"SYSTEM"}
    assert len(ubuntu) + len(debian) < len(every)
