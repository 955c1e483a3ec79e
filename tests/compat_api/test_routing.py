"""Route decisions: precedence, sticky canaries, unimplemented commands, shadow safety."""

from __future__ import annotations

from compat_api.commands import build_registry
from compat_api.routing import (
    ENGINE,
    LEGACY,
    Route,
    RouteTable,
    in_canary,
    is_read_only,
)

REGISTRY = build_registry()
LIST_VMS = REGISTRY.get("listVirtualMachines")
ACME = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"
CUSTOMERS = "dddddddd-0000-0000-0000-000000000001"


def _route(n: int, backend: str, **scope: object) -> Route:
    values: dict[str, object] = {"subsystem": "vm", "command": "", "account": "", "domain": ""}
    values.update(scope)
    return Route(id=n, backend=ENGINE if backend == ENGINE else LEGACY, **values)  # type: ignore[arg-type]


def test_default_is_legacy_with_a_legacy_url_and_engine_without() -> None:
    assert RouteTable(legacy=True).decide(LIST_VMS, "listVirtualMachines").backend == LEGACY
    assert RouteTable(legacy=False).decide(LIST_VMS, "listVirtualMachines").backend == ENGINE


def test_precedence_most_specific_first() -> None:
    table = RouteTable(
        (
            _route(1, ENGINE),
            _route(2, LEGACY, domain=CUSTOMERS, domain_path="/Customers/"),
            _route(3, ENGINE, account=ACME),
            _route(4, LEGACY, command="listVirtualMachines"),
            _route(
                5,
                ENGINE,
                command="listVirtualMachines",
                domain=CUSTOMERS,
                domain_path="/Customers/",
            ),
            _route(6, LEGACY, command="listVirtualMachines", account=ACME),
        ),
        legacy=True,
    )

    def decide(account: str, path: str, name: str = "listVirtualMachines") -> int | None:
        return table.decide(REGISTRY.get(name), name, None, account, path).route_id

    assert decide(ACME, "/Customers/Acme/") == 6
    assert decide(OTHER, "/Customers/Other/") == 5
    assert decide(OTHER, "/") == 4
    assert decide(ACME, "/Customers/Acme/", "startVirtualMachine") == 3
    assert decide(OTHER, "/Customers/", "startVirtualMachine") == 2
    assert decide(OTHER, "/Elsewhere/", "startVirtualMachine") == 1
    assert decide(OTHER, "/", "listVolumes") is None


def test_deepest_domain_route_wins() -> None:
    table = RouteTable(
        (
            _route(1, ENGINE, domain="a", domain_path="/Customers/"),
            _route(2, LEGACY, domain="b", domain_path="/Customers/Acme/"),
        ),
        legacy=True,
    )
    assert (
        table.decide(LIST_VMS, "listVirtualMachines", None, OTHER, "/Customers/Acme/x/").route_id
        == 2
    )
    assert table.decide(LIST_VMS, "listVirtualMachines", None, OTHER, "/Customers/B/").route_id == 1


def test_canary_is_sticky_and_roughly_the_share_asked() -> None:
    accounts = [f"{n:08d}-0000-0000-0000-000000000000" for n in range(2000)]
    inside = [a for a in accounts if in_canary(a, "vm", 10)]
    assert 120 < len(inside) < 280
    assert all(in_canary(a, "vm", 10) for a in inside)  # the same answer every time
    assert all(in_canary(a, "vm", 20) for a in inside)  # growing keeps those already in
    table = RouteTable((_route(1, ENGINE, percent=10),), legacy=True)
    for account in accounts[:200]:
        expected = ENGINE if account in inside else LEGACY
        assert table.decide(LIST_VMS, "listVirtualMachines", None, account, "/").backend == expected


def test_an_account_outside_a_canary_falls_through_to_the_next_route() -> None:
    table = RouteTable(
        (_route(1, ENGINE), _route(2, LEGACY, command="listVirtualMachines", percent=0)),
        legacy=True,
    )
    assert table.decide(LIST_VMS, "listVirtualMachines", None, ACME, "/").route_id == 1


def test_unimplemented_commands_go_to_legacy_when_there_is_one() -> None:
    table = RouteTable((_route(1, ENGINE, subsystem="network"),), legacy=True)
    assert table.decide(None, "addBrocadeVcsDevice").backend == LEGACY
    assert RouteTable((), legacy=False).decide(None, "addBrocadeVcsDevice").backend == ENGINE
    assert RouteTable((), legacy=False).decide(None, "noSuchCommand").backend == ENGINE


def test_shadow_only_for_read_only_commands_with_somewhere_to_mirror() -> None:
    table = RouteTable(
        (Route(1, "vm", "", "", "", ENGINE, shadow=True, ignore_fields=frozenset({"x"})),),
        legacy=True,
    )
    read = table.decide(LIST_VMS, "listVirtualMachines")
    assert read.shadow and read.ignore_fields == {"x"} and read.other == LEGACY
    assert not table.decide(REGISTRY.get("startVirtualMachine"), "startVirtualMachine").shadow
    no_legacy = RouteTable(table.routes, legacy=False)
    assert not no_legacy.decide(LIST_VMS, "listVirtualMachines").shadow


def test_read_only_classification_is_conservative() -> None:
    assert is_read_only("listVirtualMachines")
    assert is_read_only("queryAsyncJobResult")
    assert is_read_only("getUser")
    assert is_read_only("isAccountAllowedToCreateOfferingsWithTags")
    for name in (
        "issueCertificate",
        "deployVirtualMachine",
        "listAndSwitchSAMLAccount",
        "getUploadParamsForTemplate",
        "getDiagnosticsData",
        "login",
        "noSuchCommand",
    ):
        assert not is_read_only(name), name


def test_callers_are_looked_up_only_when_a_route_depends_on_them() -> None:
    assert not RouteTable(
        (_route(1, ENGINE), _route(2, LEGACY, command="listVolumes"))
    ).needs_caller
    assert RouteTable((_route(1, ENGINE, account=ACME),)).needs_caller
    assert RouteTable((_route(1, ENGINE, domain=CUSTOMERS, domain_path="/C/"),)).needs_caller
    assert RouteTable((_route(1, ENGINE, percent=50),)).needs_caller
