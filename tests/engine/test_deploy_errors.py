"""deployVirtualMachine refusals: answered at once with CloudStack's codes, leaving nothing
behind (no VM row, no job, no count) — on SQLite and MariaDB."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from schema_bridge.ids import new_uuid
from schema_bridge.tables import (
    async_job,
    disk_offering,
    domain_network_ref,
    service_offering,
    template_zone_ref,
    vm_instance,
    vm_template,
)
from tests.compat_api.conftest import Api
from tests.engine.deploy_helpers import (
    Refs,
    check_books,
    counts,
    deploy,
    deployed,
    host_uuid,
    refs,
    rows,
    set_limit,
)

ROOT = "deployvirtualmachineresponse"


async def _nothing_written(api: Api) -> None:
    for table in (vm_instance, async_job):
        found = await rows(api, select(func.count()).select_from(table))
        assert found[0][0] == 0, table.name


async def _refused(api: Api, ref: Refs, expected: tuple[int, int], **params: Any) -> str:
    reply = await deploy(api, api.user, ref, **params)
    code, cs_code, text = reply.error(ROOT)
    assert reply.status == code
    assert (code, cs_code) == expected, text
    return text


async def test_bad_ids_and_values_are_refused_at_once(api: Api) -> None:
    ref = await refs(api)
    unknown = await _refused(api, ref, (431, 9999), zoneid=new_uuid())
    assert "Invalid parameter zoneid value=" in unknown
    text = await _refused(api, ref, (431, 4350), templateid=ref.system_template)
    assert text == f"Unable to use system template {ref.system_template} to deploy a user vm"
    text = await _refused(api, ref, (431, 4350), name="1-starts-with-a-digit")
    assert text.startswith("Invalid name. Vm name can contain ASCII letters")
    text = await _refused(api, ref, (431, 4350), ipaddress="10.1.0.300")
    assert text == "Invalid specified IPv4 address 10.1.0.300"
    text = await _refused(api, ref, (533, 9999), ipaddress="192.168.7.7")
    assert text == "Insufficient address capacity"
    text = await _refused(api, ref, (431, 4350), keypair="nope")
    assert text == "Not all specified keypairs exist"
    text = await _refused(api, ref, (431, 4350), userdata="not base64!")
    assert text == "User data is not base64 encoded"
    text = await _refused(api, ref, (431, 4350), **{"details[0].cpuNumber": "2"})
    assert "should not be specified for static service offering" in text
    text = await _refused(api, ref, (431, 4350), diskofferingid=ref.custom_disk)
    assert text == "This disk offering requires a custom size specified"
    text = await _refused(api, ref, (431, 4350), diskofferingid=ref.custom_disk, size="5000")
    assert (
        text == "VM Creation failed. Volume size: 5000GB is out of allowed range. Max: 1024 Min:1"
    )
    text = await _refused(api, ref, (431, 4350), **{"details[0].rootdisksize": "2"})
    assert text.startswith("Unsupported: rootdisksize override (2 GB) is smaller than template")
    text = await _refused(api, ref, (531, 4365), hostid=await host_uuid(api, 0))
    assert text == "Parameter hostid can only be specified by a Root Admin, permission denied"
    missing = await _refused(api, ref, (431, 9999), templateid=None)
    assert missing.endswith("due to missing parameter templateid")
    await _nothing_written(api)


async def test_wrong_states_are_refused_at_once(api: Api) -> None:
    ref = await refs(api)
    catalog = api.seed.catalog
    async with api.db.engine.begin() as conn:
        await conn.execute(
            update(service_offering)
            .where(service_offering.c.id == catalog.medium_offering_id)
            .values(state="Inactive")
        )
        medium = await conn.scalar(
            select(service_offering.c.uuid).where(
                service_offering.c.id == catalog.medium_offering_id
            )
        )
        await conn.execute(
            delete(template_zone_ref).where(
                template_zone_ref.c.template_id == catalog.template_ids[1]
            )
        )
        rocky = await conn.scalar(
            select(vm_template.c.uuid).where(vm_template.c.id == catalog.template_ids[1])
        )
        compute_disk = await conn.scalar(
            select(disk_offering.c.uuid).where(disk_offering.c.compute_only.is_(True)).limit(1)
        )
    text = await _refused(api, ref, (431, 4350), serviceofferingid=medium)
    assert text == f"Service offering is inactive: [{medium}]."
    text = await _refused(api, ref, (431, 4350), templateid=rocky)
    assert text == f"The template {rocky} is not available for use"
    text = await _refused(api, ref, (431, 4350), diskofferingid=compute_disk)
    assert "is directly mapped to a service offering" in text
    await _nothing_written(api)


async def test_taken_address_and_duplicate_name_are_refused(api: Api) -> None:
    ref = await refs(api)
    first = await deployed(api, api.user, ref, name="db", ipaddress="10.1.0.20")
    assert first["jobstatus"] == 1, first
    text = await _refused(api, ref, (533, 9999), ipaddress="10.1.0.20")
    assert text == "Insufficient address capacity"
    text = await _refused(api, ref, (431, 4350), name="db")
    assert text == (
        "The vm with hostName db already exists in the network domain: null; network=demo-shared-1"
    )
    await check_books(api)


async def test_user_deploying_into_another_account_is_refused(api: Api) -> None:
    ref = await refs(api)
    admin = api.admin
    reply = await deploy(api, api.user, ref, account=admin.account_name, domainid=admin.domain_uuid)
    assert reply.error(ROOT) == (
        531,
        4365,
        "Caller does not have permission to operate with provided resource.",
    )
    reply = await deploy(api, api.user, ref, account="nobody", domainid=admin.domain_uuid)
    assert reply.error(ROOT)[:2] == (431, 4350)
    await _nothing_written(api)
    inside = await deployed(
        api, api.domain_admin, ref, account=api.user.account_name, domainid=api.user.domain_uuid
    )
    assert inside["jobstatus"] == 1, inside
    assert inside["jobresult"]["virtualmachine"]["account"] == api.user.account_name


async def test_limits_exceeded_are_refused_with_the_real_error(api: Api) -> None:
    ref = await refs(api)
    user = api.user
    before = await counts(api, user.account_id)
    await set_limit(api, "user_vm", before["user_vm"], account_id=user.account_id)
    text = await _refused(api, ref, (535, 9999))
    assert text == (
        f"Maximum amount of resources of Type = 'user_vm', tag = 'null' for Account Name = "
        f"{user.account_name} in Domain Id = {user.domain_id} is exceeded: Account Resource "
        f"Limit = {before['user_vm']}, Current Account Resource Amount = {before['user_vm']}, "
        "Current Account Resource Reservation = 0, Requested Resource Amount = 1."
    )
    await set_limit(api, "user_vm", 100, account_id=user.account_id)
    await set_limit(api, "primary_storage", 1024**3, account_id=user.account_id)
    text = await _refused(api, ref, (535, 9999))
    assert "Type = 'primary_storage'" in text
    assert f"Requested Resource Amount = {ref.template_size} (10.00 GB)." in text
    await set_limit(api, "primary_storage", -1, account_id=user.account_id)
    await set_limit(api, "memory", 256, domain_id=user.domain_id)
    text = await _refused(api, ref, (535, 9999))
    assert text.startswith(
        f"Maximum domain resource limits of Type 'memory' for Domain Id = {user.domain_uuid} "
        "is exceeded: Domain Resource Limit = 256"
    )
    assert await counts(api, user.account_id) == before
    await _nothing_written(api)


async def test_concurrent_deploys_never_pass_a_limit(api: Api) -> None:
    import asyncio

    ref = await refs(api)
    user = api.user
    before = await counts(api, user.account_id)
    await set_limit(api, "user_vm", before["user_vm"] + 3, account_id=user.account_id)
    replies = await asyncio.gather(*(deploy(api, user, ref, startvm="false") for _ in range(8)))
    codes = sorted(r.status for r in replies)
    assert codes == [200] * 3 + [535] * 5, [r.text for r in replies]
    assert (await counts(api, user.account_id))["user_vm"] == before["user_vm"] + 3


async def test_an_address_of_another_range_is_not_available(api: Api) -> None:
    ref = await refs(api)
    # 192.168.100.20 is a Free public address: not in the guest network's range.
    text = await _refused(api, ref, (533, 9999), ipaddress="192.168.100.20")
    assert text == "Insufficient address capacity"
    await _nothing_written(api)


async def test_a_network_out_of_the_owners_reach_is_refused(api: Api) -> None:
    ref = await refs(api)
    guest = api.seed.networking.guest_network_id
    async with api.db.engine.begin() as conn:
        # The shared network now serves ROOT only, not its subdomains (the user's Customers).
        await conn.execute(
            update(domain_network_ref)
            .where(domain_network_ref.c.network_id == guest)
            .values(subdomain_access=False)
        )
    text = await _refused(api, ref, (531, 4365), networkids=ref.network)
    assert text == (
        f"Shared network id={ref.network} is not available in domain id={api.user.domain_uuid}"
    )
    text = await _refused(api, ref, (431, 4350))
    assert text.startswith("Unable to find a usable guest network for the VM in zone")
    await _nothing_written(api)
    admin = await deployed(api, api.admin, ref)
    assert admin["jobstatus"] == 1, admin
