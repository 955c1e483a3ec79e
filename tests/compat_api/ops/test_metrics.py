"""/metrics parsed as Prometheus text: requests and latency per command, backend and status,
errors per errorcode, job queue and durations, routes from the registry, database pool."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from compat_api.app import STATE
from compat_api.ops.routing import ENGINE, LEGACY
from tests.compat_api.conftest import Api
from tests.engine.test_vm_power import stopped_vm, wait_job


async def scrape(api: Api) -> dict[str, Metric]:
    response = await api.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {f.name: f for f in text_string_to_metric_families(await response.text())}


def value(families: dict[str, Metric], sample: str, **labels: str) -> float:
    for family in families.values():
        for one in family.samples:
            if one.name == sample and all(one.labels.get(k) == v for k, v in labels.items()):
                return one.value
    raise AssertionError(f"no {sample} {labels}")


async def test_requests_latency_and_errors(api: Api) -> None:
    for _ in range(3):
        assert (await api.signed("listZones")).status == 200
    assert (await api.signed("listZones", secret="wrong")).status == 401
    await api.signed("noSuchCommandAtAll")
    await api.client.get("/readyz")  # probes are not traffic
    families = await scrape(api)
    requests = "stackshift_api_requests_total"
    ok = {"command": "listZones", "backend": "engine", "status": "200"}
    assert value(families, requests, **ok) == 3
    assert value(families, requests, command="listZones", backend="engine", status="401") == 1
    # A command nobody implements is counted under one label, whatever the client sent.
    assert value(families, requests, command="unknown", backend="engine", status="401") == 1
    assert value(families, "stackshift_api_request_seconds_count", **ok) == 3
    assert value(families, "stackshift_api_request_seconds_bucket", le="+Inf", **ok) == 3
    assert value(families, "stackshift_api_request_seconds_sum", **ok) > 0
    errors = "stackshift_api_errors_total"
    assert value(families, errors, command="listZones", errorcode="401") == 1
    commands = {s.labels.get("command") for s in families["stackshift_api_requests"].samples}
    assert "noSuchCommandAtAll" not in commands and None not in commands


async def test_routes_come_from_the_registry(api: Api) -> None:
    families = await scrape(api)
    registry = api.client.app[STATE].registry
    vm_commands = [c for c in registry if c.subsystem == "vm"]
    assert value(families, "stackshift_route_commands", subsystem="vm", backend=ENGINE) == len(
        vm_commands
    )
    total = sum(s.value for s in families["stackshift_route_commands"].samples)
    engine = sum(
        s.value
        for s in families["stackshift_route_commands"].samples
        if s.labels["backend"] == ENGINE
    )
    assert engine == len(registry) and total > engine
    assert value(families, "stackshift_route_commands", subsystem="kubernetes", backend=LEGACY) > 0


async def test_health_pool_and_queue_gauges(api: Api) -> None:
    families = await scrape(api)
    assert value(families, "stackshift_ready") == 1
    assert value(families, "stackshift_draining") == 0
    assert value(families, "stackshift_database_up") == 1
    assert value(families, "stackshift_jobs_backlog") == 0
    assert value(families, "stackshift_jobs_stuck") == 0
    assert value(families, "stackshift_instances", state="alive") == 1
    assert value(families, "stackshift_db_pool_size") >= 1
    assert value(families, "stackshift_db_pool_checked_out") >= 0


async def test_job_queue_and_durations_per_command(api: Api) -> None:
    vm = await stopped_vm(api)
    accepted = await api.signed("startVirtualMachine", api.user, id=vm.uuid)
    jobid = accepted.inner("startvirtualmachineresponse")["jobid"]
    assert (await wait_job(api, jobid, api.user))["jobstatus"] == 1
    families = await scrape(api)
    labels = {"command": "startVirtualMachine", "result": "succeeded"}
    assert value(families, "stackshift_job_duration_seconds_count", **labels) == 1
    assert value(families, "stackshift_job_duration_seconds_bucket", le="+Inf", **labels) == 1
    # Counted once, however often it is scraped.
    again = await scrape(api)
    assert value(again, "stackshift_job_duration_seconds_count", **labels) == 1
