"""The CloudStack web UI's own sequence, replayed against a live server on SQLite and MariaDB:
login, the calls made right after it, the admin dashboard, the instance list and detail,
the deploy wizard's lists, deploy with job polling, stop, start, reboot, destroy, logout.

Requests go where and how the UI sends them: `/client/api/` with a trailing slash, GETs with
mixed-case parameter names (pageSize, jobId), the session carried by the cookies the server
set at login. Two session styles are replayed: the 4.19+ UI, which also sends the key it got
at login as the `sessionkey` parameter (CloudStack's default check, CookieAndParameter), and
older UI builds (Primate) that send cookies only, which a server accepts when
`api.sessionkey.check.locations` is CookieOrParameter. Every field the UI reads is asserted.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import insert, update

from compat_api.app import create_app
from compat_api.settings import Settings
from migrate import schema as own_schema
from schema_bridge.db import Database
from schema_bridge.dialect import utc_now
from schema_bridge.ids import new_uuid
from schema_bridge.seed import SeedResult
from schema_bridge.seed_identity import Credentials
from schema_bridge.tables import configuration, table
from tests.compat_api.conftest import db_url_of
from tests.conftest import TEST_ENCRYPTION_KEY

API = "/client/api/"
WITH_PARAM = "cookie-and-parameter"
# The instance list's `details` when metrics are off (ui/src/config/section/compute.js).
INSTANCE_DETAILS = "group,nics,secgrp,tmpl,servoff,diskoff,iso,volume,affgrp,backoff"
COOKIES_ONLY = "cookies-only"


class Browser:
    """What the UI's api() does: GET (or POST) to /client/api/ with response=json, the
    session in cookies, and the key as a parameter when the UI version sends it."""

    def __init__(self, client: TestClient[Any, Any], style: str, db: Database) -> None:
        self.client = client
        self.db = db
        self.style = style
        self.key: str | None = None

    def query(self, command: str, params: dict[str, Any]) -> str:
        pairs = {"command": command, **{k: _text(v) for k, v in params.items()}}
        pairs["response"] = "json"
        if self.key and self.style == WITH_PARAM:
            pairs["sessionkey"] = self.key
        return "&".join(f"{quote(k, safe='[]._')}={quote(v, safe='')}" for k, v in pairs.items())

    async def get(self, command: str, **params: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.get(f"{API}?{self.query(command, params)}")
        return response.status, json.loads(await response.text())

    async def post(self, command: str, **params: Any) -> tuple[int, dict[str, Any], Any]:
        response = await self.client.post(
            API,
            data=self.query(command, params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return response.status, json.loads(await response.text()), response.headers

    async def ok(self, command: str, **params: Any) -> dict[str, Any]:
        status, body = await self.get(command, **params)
        assert status == 200, (command, body)
        inner: dict[str, Any] = body[_root(command)]
        return inner

    async def items(self, command: str, object_name: str, **params: Any) -> list[dict[str, Any]]:
        inner = await self.ok(command, **params)
        found: list[dict[str, Any]] = inner.get(object_name, [])
        assert inner.get("count", 0) == len(found) or "page" in {k.lower() for k in params}
        return found

    async def wait(self, jobid: str) -> dict[str, Any]:
        """The UI's job poller: queryAsyncJobResult with `jobId` until the job is done."""
        for _ in range(400):
            result = await self.ok("queryAsyncJobResult", jobId=jobid)
            assert result["jobid"] == jobid
            if result["jobstatus"] != 0:
                return result
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {jobid} never finished")


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _root(command: str) -> str:
    irregular = {"listLdapConfigurations": "ldapconfigurationresponse"}
    return irregular.get(command, f"{command.lower()}response")


@pytest.fixture(params=[WITH_PARAM, COOKIES_ONLY])
async def browser(
    request: pytest.FixtureRequest,
    seeded_db: tuple[Database, SeedResult],
    aiohttp_client: Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]],
) -> tuple[Browser, SeedResult]:
    db, seed = seeded_db
    url = db_url_of(db)
    await asyncio.to_thread(own_schema.upgrade, url)
    if request.param == COOKIES_ONLY:
        await _session_check(db, "CookieOrParameter")
    settings = Settings(db_url=url, encryption_key=TEST_ENCRYPTION_KEY, auth_cache_seconds=0)
    client = await aiohttp_client(create_app(settings, db=db))
    return Browser(client, request.param, db), seed


async def _session_check(db: Database, value: str) -> None:
    name = "api.sessionkey.check.locations"
    async with db.engine.begin() as conn:
        changed = await conn.execute(
            update(configuration).where(configuration.c.name == name).values(value=value)
        )
        if not changed.rowcount:
            await conn.execute(
                insert(configuration).values(
                    category="Advanced",
                    instance="DEFAULT",
                    component="ApiServer",
                    name=name,
                    value=value,
                )
            )


async def _login_page(ui: Browser) -> None:
    """Before login the page asks for SAML identity providers (a 401 the UI ignores when the
    SAML plugin is off) and OAuth providers (an authenticator: answered without a session)."""
    status, body = await ui.get("listIdps")
    assert status == 401
    status, body = await ui.get("listOauthProvider")
    assert (status, body) == (200, {"listoauthproviderresponse": {}})


async def _login(ui: Browser, who: Credentials) -> dict[str, Any]:
    # The UI logs out first to purge stale cookies; without a session that is a 431 it ignores.
    status, body, _ = await ui.post("logout")
    assert status == 431 and body["logoutresponse"]["errorcode"] == 431
    status, body, headers = await ui.post(
        "login", username=who.username, password=who.password, domain=who.domain_path
    )
    assert status == 200
    login = body["loginresponse"]
    for name in ("username", "userid", "domainid", "account", "firstname", "lastname"):
        assert isinstance(login[name], str) and login[name]
    assert login["type"] in ("0", "1", "2") and login["is2faenabled"] == "false"
    assert login["registered"] == "false" and login["issuerfor2fa"] == "CloudStack"
    assert isinstance(login["timeout"], int)
    cookies = headers.getall("Set-Cookie")
    assert any(re.match(r"JSESSIONID=[0-9A-F]{32}; Path=/client(;|$)", c) for c in cookies)
    assert f"sessionkey={login['sessionkey']};HttpOnly;SameSite=Lax" in cookies
    ui.key = login["sessionkey"]
    return dict(login)


async def _after_login(
    ui: Browser, login: dict[str, Any], role: tuple[str, str] = ("Admin", "Root Admin")
) -> None:
    """GetInfo: the calls the UI makes at once after login; a failure of the first five
    logs the user out."""
    userid = login["userid"]
    (
        users,
        zones,
        apis,
        capabilities,
        ldap,
        cloudian,
        networks,
        vpcs,
        providers,
    ) = await asyncio.gather(
        ui.get("listUsers", id=userid, listall=True),
        ui.get("listZones"),
        ui.get("listApis"),
        ui.get("listCapabilities"),
        ui.get("listLdapConfigurations"),
        ui.get("cloudianIsEnabled"),
        ui.get("listNetworks", restartrequired=True, forvpc=False),
        ui.get("listVPCs", restartrequired=True),
        ui.get("listNetworkServiceProviders", name="SecurityGroupProvider", state="Enabled"),
    )
    for status, body in (users, zones, apis, capabilities, ldap, cloudian, networks, vpcs):
        assert status == 200, body
    user = users[1]["listusersresponse"]["user"][0]
    assert user["id"] == userid and user["username"] == login["username"]
    assert (user["roletype"], user["rolename"]) == role
    assert (user["firstname"], user["lastname"]) == (login["firstname"], login["lastname"])
    zone = zones[1]["listzonesresponse"]["zone"][0]
    assert zone["id"] and zone["name"] and zone["networktype"] == "Advanced"
    api_list = apis[1]["listapisresponse"]["api"]
    names = {api["name"] for api in api_list}
    wanted = {
        "listVirtualMachinesMetrics",
        "deployVirtualMachine",
        "listEvents",
        "stopVirtualMachine",
        "startVirtualMachine",
        "rebootVirtualMachine",
        "destroyVirtualMachine",
        "listVolumes",
    }
    assert wanted <= names
    assert ("listCapacity" in names) == (role[0] == "Admin")
    for api in api_list:
        assert isinstance(api["isasync"], bool) and isinstance(api["params"], list)
        assert isinstance(api["response"], list) and "description" in api
    capability = capabilities[1]["listcapabilitiesresponse"]["capability"]
    assert capability["defaultuipagesize"] == 20 and capability["cloudstackversion"]
    assert capability["securitygroupsenabled"] is False
    # No LDAP server: an empty list, so `count > 0` is false in the UI.
    assert ldap[1] == {"ldapconfigurationresponse": {}}
    assert cloudian[1]["cloudianisenabledresponse"]["cloudianisenabled"]["enabled"] is False
    assert networks[1]["listnetworksresponse"].get("count", 0) == 0
    assert vpcs[1]["listvpcsresponse"].get("count", 0) == 0
    if role[0] == "Admin":
        assert providers[0] == 200
        assert providers[1]["listnetworkserviceprovidersresponse"].get("count", 0) == 0
    else:
        # Admin-only: the real 432 (the UI ignores it), never the 401 that logs out.
        assert providers[0] == 432


async def _dashboard(ui: Browser) -> str:
    zone = (await ui.items("listZones", "zone", showicon=True))[0]
    capacity, events, alerts = await asyncio.gather(
        ui.items("listCapacity", "capacity", zoneid=zone["id"], fetchlatest=False),
        ui.ok("listEvents", page=1, pagesize=5, listall=True),
        ui.ok("listAlerts", page=1, pagesize=5, listall=True),
    )
    assert alerts == {}
    # The 4.20 dashboard counts hosts and instances with lower-case filters.
    hosts = {"zoneid": zone["id"], "listall": True, "details": "min", "type": "routing"}
    total = (await ui.ok("listHosts", **hosts))["count"]
    assert total >= 1 and (await ui.ok("listHosts", **hosts, state="up"))["count"] == total
    assert (await ui.ok("listHosts", **hosts, state="alert")) == {}
    assert (await ui.ok("listHosts", **hosts, resourcestate="maintenance")) == {}
    vms = {"zoneid": zone["id"], "listall": True, "projectid": "-1", "details": "min"}
    for state in (None, "running", "stopped"):
        extra = {"state": state} if state else {}
        assert (await ui.ok("listVirtualMachines", **vms, **extra)) == {}
    names = {stat["name"] for stat in capacity}
    assert {"MEMORY", "CPU", "STORAGE", "STORAGE_ALLOCATED"} <= names
    for stat in capacity:
        assert isinstance(stat["type"], int)
        float(stat["percentused"])
        assert isinstance(stat["capacityused"], int) and isinstance(stat["capacitytotal"], int)
    for event in events.get("event", []):
        for name in ("id", "created", "type", "level", "state", "username", "description"):
            assert name in event, (name, event)
    return str(zone["id"])


async def _wizard(ui: Browser, zone: str, login: dict[str, Any]) -> dict[str, str]:
    """The deploy wizard's lists, with the UI's parameters; returns what the user picks."""
    # fetchOptions adds listall=true to every list that does not set it (placement lists and
    # hypervisors aside).
    offerings = await ui.items(
        "listServiceOfferings",
        "serviceoffering",
        zoneid=zone,
        issystem=False,
        page=1,
        pageSize=10,
        listall=True,
    )
    disks = await ui.items(
        "listDiskOfferings", "diskoffering", zoneid=zone, page=1, pageSize=10, listall=True
    )
    hypervisors = await ui.items("listHypervisors", "hypervisor", zoneid=zone)
    await ui.ok("listAffinityGroups", page=1, pageSize=10, listall=False)
    await ui.ok("listSSHKeyPairs", page=1, pageSize=10, listall=False)
    await ui.ok("listInstanceGroups", listall=True)
    await ui.ok("listVPCs", zoneid=zone, listall=True)
    networks = await ui.items(
        "listNetworks",
        "network",
        zoneid=zone,
        canusefordeploy=True,
        domainid=login["domainid"],
        account=login["account"],
        page=1,
        pageSize=10,
        listall=True,
    )
    pods = await ui.items("listPods", "pod", zoneid=zone)
    clusters = await ui.items("listClusters", "cluster", zoneid=zone)
    hosts = await ui.items("listHosts", "host", zoneid=zone, state="Up", type="Routing")
    templates: list[dict[str, Any]] = []
    for kind in ("featured", "community", "selfexecutable", "sharedexecutable"):
        found = await ui.ok(
            "listTemplates",
            templatefilter=kind,
            zoneid=zone,
            page=1,
            pageSize=10,
            details="all",
            showicon=True,
        )
        templates += found.get("template", [])
    for offering in offerings:
        for name in ("id", "name", "displaytext", "cpunumber", "cpuspeed", "memory"):
            assert name in offering, (name, offering)
    assert all("id" in d and "name" in d and "disksize" in d for d in disks)
    assert [h["name"] for h in hypervisors] == ["Simulator"]
    assert networks and all(n["id"] and n["name"] and n["zoneid"] == zone for n in networks)
    for listed in (pods, clusters, hosts):
        assert listed and all(item["id"] and item["name"] for item in listed)
    assert templates
    for template in templates:
        for name in ("id", "name", "displaytext", "ostypeid", "ostypename", "isready"):
            assert name in template, (name, template)
    template = next(t for t in templates if t["isready"])
    return {
        "template": template["id"],
        "offering": offerings[0]["id"],
        "network": networks[0]["id"],
    }


def _check_vm(vm: dict[str, Any], state: str) -> None:
    assert vm["state"] == state
    for name in ("id", "name", "displayname", "account", "zoneid", "zonename", "instancename"):
        assert isinstance(vm[name], str) and vm[name], name
    assert vm["ipaddress"] == vm["nic"][0]["ipaddress"]
    nic = vm["nic"][0]
    for name in ("id", "networkid", "networkname", "ipaddress", "macaddress", "isdefault"):
        assert name in nic, name


async def _action(ui: Browser, command: str, **params: Any) -> dict[str, Any]:
    """VM actions go as the UI sends them: GET in 4.19/4.20, POST in later builds."""
    if ui.style == WITH_PARAM:
        status, body = await ui.get(command, **params)
    else:
        status, body, _ = await ui.post(command, **params)
    assert status == 200, body
    accepted = body[f"{command.lower()}response"]
    result = await ui.wait(accepted["jobid"])
    assert result["jobstatus"] == 1, result
    assert result["jobresultcode"] == 0 and result["jobresulttype"] == "object"
    return dict(result["jobresult"])


async def test_ui_session_from_login_to_logout(browser: tuple[Browser, SeedResult]) -> None:
    ui, seed = browser
    await _login_page(ui)
    login = await _login(ui, seed.identity.admin)
    await _after_login(ui, login)
    zone = await _dashboard(ui)
    assert await ui.items("listVirtualMachinesMetrics", "virtualmachine", listall=True) == []

    picks = await _wizard(ui, zone, login)
    status, body = await ui.get(
        "deployVirtualMachine",
        zoneid=zone,
        templateid=picks["template"],
        serviceofferingid=picks["offering"],
        **{"iptonetworklist[0].networkid": picks["network"]},
        name="web-1",
        displayname="web-1",
        startvm=True,
        keyboard="us",
        boottype="BIOS",
        bootmode="LEGACY",
        dynamicscalingenabled=True,
        iothreadsenabled=False,
        # The wizard joins its (empty) selections into empty values.
        affinitygroupids="",
        keypairs="",
    )
    assert status == 200, body
    accepted = body["deployvirtualmachineresponse"]
    result = await ui.wait(accepted["jobid"])
    assert result["jobstatus"] == 1, result
    deployed = result["jobresult"]["virtualmachine"]
    assert deployed["id"] == accepted["id"]
    _check_vm(deployed, "Running")

    # The instance list (listVirtualMachines, or the metrics variant when the user turns
    # metrics on), the detail view (the same list command, by id), its comments and volumes.
    plain = await ui.items(
        "listVirtualMachines",
        "virtualmachine",
        details=INSTANCE_DETAILS,
        isvnf=False,
        listall=True,
        page=1,
        pageSize=20,
    )
    vms = await ui.items(
        "listVirtualMachinesMetrics",
        "virtualmachine",
        details="all,stats",
        isvnf=False,
        listall=True,
        page=1,
        pageSize=20,
    )
    assert [vm["id"] for vm in vms] == [vm["id"] for vm in plain] == [deployed["id"]]
    vm = vms[0]
    _check_vm(vm, "Running")
    _check_vm(plain[0], "Running")
    for name in ("serviceofferingname", "templatename", "hostname", "hostid", "osdisplayname"):
        assert plain[0][name] == vm[name], name
    assert vm["cputotal"].endswith(" Ghz") and vm["memorytotal"].endswith(" GB")
    detail = await ui.items(
        "listVirtualMachinesMetrics", "virtualmachine", id=vm["id"], details="all,stats"
    )
    assert detail == [vm]
    comments = await ui.ok(
        "listAnnotations", entityid=vm["id"], entitytype="VM", annotationfilter="all"
    )
    assert comments == {}
    volumes = await ui.items("listVolumes", "volume", virtualmachineid=vm["id"], listall=True)
    assert [v["type"] for v in volumes] == ["ROOT"]
    for name in ("id", "name", "state", "size", "virtualmachineid"):
        assert name in volumes[0], name

    assert (await _action(ui, "stopVirtualMachine", id=vm["id"]))["virtualmachine"]["state"] == (
        "Stopped"
    )
    started = await _action(ui, "startVirtualMachine", id=vm["id"])
    _check_vm(started["virtualmachine"], "Running")
    rebooted = await _action(ui, "rebootVirtualMachine", id=vm["id"])
    assert rebooted["virtualmachine"]["state"] == "Running"
    destroyed = await _action(ui, "destroyVirtualMachine", id=vm["id"], expunge=False)
    assert destroyed["virtualmachine"]["state"] == "Destroyed"

    # An unknown command in a session is the real 432, never a 401 that would log out.
    status, body = await ui.get("listNoSuchThing")
    assert status == 432
    assert body["errorresponse"]["errortext"] == "Unknown API command: listNoSuchThing"

    status, body, headers = await ui.post("logout")
    assert status == 200 and body == {"logoutresponse": {"description": "success"}}
    cleared = headers.getall("Set-Cookie")
    assert any(c.startswith("JSESSIONID=;") and "Max-Age=0" in c for c in cleared)
    assert any(c.startswith("sessionkey=;") and "Max-Age=0" in c for c in cleared)
    ui.client.session.cookie_jar.clear()
    status, body = await ui.get("listZones")
    assert status == 401


async def test_a_stale_session_is_401_so_the_ui_logs_out(
    browser: tuple[Browser, SeedResult],
) -> None:
    ui, seed = browser
    await _login(ui, seed.identity.admin)
    jar = ui.client.session.cookie_jar
    session_id = next(c.value for c in jar if c.key == "JSESSIONID")
    jar.clear()
    ui.key = "not-the-key"
    query = ui.query("listZones", {})
    response = await ui.client.get(
        f"{API}?{query}", headers={"Cookie": f"JSESSIONID={session_id}; sessionkey=not-the-key"}
    )
    body = json.loads(await response.text())
    assert (response.status, body["listzonesresponse"]["errortext"]) == (
        401,
        "unable to verify user credentials",
    )


async def test_enabled_oauth_providers_are_offered_without_secrets(
    browser: tuple[Browser, SeedResult],
) -> None:
    ui, _ = browser
    provider = table("oauth_provider")
    db = ui.db
    async with db.engine.begin() as conn:
        for name, enabled in (("github", True), ("google", False)):
            await conn.execute(
                insert(provider).values(
                    uuid=new_uuid(),
                    description=f"{name} login",
                    provider=name,
                    client_id=f"{name}-client",
                    secret_key="never-shown",
                    redirect_uri="https://cloud.example.org/#/verifyOauth",
                    enabled=enabled,
                    created=utc_now(),
                )
            )
    # The plugin is off by default: nothing is offered.
    status, body = await ui.get("listOauthProvider")
    assert body == {"listoauthproviderresponse": {}}
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(configuration).values(
                category="Advanced",
                instance="DEFAULT",
                component="OAuth2",
                name="oauth2.enabled",
                value="true",
            )
        )
    status, body = await ui.get("listOauthProvider")
    inner = body["listoauthproviderresponse"]
    assert status == 200 and inner["count"] == 1
    offered = inner["oauthprovider"][0]
    assert offered["provider"] == "github" and offered["clientid"] == "github-client"
    assert offered["enabled"] is True and "secretkey" not in offered


async def test_ui_session_of_a_user(browser: tuple[Browser, SeedResult]) -> None:
    """A customer: no admin dashboard, the wizard without placement lists, their own VM."""
    ui, seed = browser
    user = seed.identity.user
    await _login_page(ui)
    login = await _login(ui, user)
    assert login["type"] == "0"
    await _after_login(ui, login, ("User", "User"))
    zone = (await ui.items("listZones", "zone", showicon=True))[0]["id"]
    status, body = await ui.get("listCapacity", zoneid=zone)
    assert status == 432 and "not available for the account" in (body["errorresponse"]["errortext"])
    offerings = await ui.items(
        "listServiceOfferings", "serviceoffering", zoneid=zone, issystem=False, page=1, pageSize=10
    )
    templates = await ui.items(
        "listTemplates", "template", templatefilter="featured", zoneid=zone, details="all"
    )
    networks = await ui.items(
        "listNetworks",
        "network",
        zoneid=zone,
        canusefordeploy=True,
        domainid=login["domainid"],
        account=login["account"],
        page=1,
        pageSize=10,
    )
    await ui.ok("listAffinityGroups", page=1, pageSize=10, listall=False)
    await ui.ok("listInstanceGroups", listall=True)
    assert [h["name"] for h in await ui.items("listHypervisors", "hypervisor", zoneid=zone)] == [
        "Simulator"
    ]
    status, body = await ui.get(
        "deployVirtualMachine",
        zoneid=zone,
        templateid=templates[0]["id"],
        serviceofferingid=offerings[0]["id"],
        **{"iptonetworklist[0].networkid": networks[0]["id"]},
        name="mine-1",
        startvm=True,
    )
    assert status == 200, body
    result = await ui.wait(body["deployvirtualmachineresponse"]["jobid"])
    assert result["jobstatus"] == 1, result
    vms = await ui.items(
        "listVirtualMachines",
        "virtualmachine",
        details=INSTANCE_DETAILS,
        isvnf=False,
        listall=True,
        page=1,
        pageSize=20,
    )
    assert [vm["name"] for vm in vms] == ["mine-1"]
    vm = vms[0]
    assert vm["account"] == user.account_name and vm["ipaddress"]
    assert "instancename" not in vm and "hostname" not in vm
    destroyed = await _action(ui, "destroyVirtualMachine", id=vm["id"])
    assert destroyed["virtualmachine"]["state"] == "Destroyed"
    status, body, _ = await ui.post("logout")
    assert status == 200
