"""Parameter parsing: names, types and the exact errors for bad values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compat_api import errors, params
from compat_api.facts import ParamFact


def fact(name: str, kind: str, required: bool = False, **extra: object) -> ParamFact:
    return ParamFact(name=name, type=kind, required=required, **extra)  # type: ignore[arg-type]


def parse_one(kind: str, value: str, **extra: object) -> object:
    return params.parse_value("listThings", fact("x", kind, **extra), value)


def raises(code: int, cs: int | None, text: str, func: object, *args: object) -> None:
    with pytest.raises(errors.ApiError) as caught:
        func(*args)  # type: ignore[operator]
    assert (caught.value.errorcode, caught.value.cserrorcode, caught.value.errortext) == (
        code,
        cs,
        text,
    )


def test_missing_and_empty_required() -> None:
    declared = [fact("zoneid", "uuid", required=True)]
    raises(
        431,
        9999,
        "Unable to execute API command deployvirtualmachine due to missing parameter zoneid",
        params.parse,
        "deployVirtualMachine",
        declared,
        {},
        {},
    )
    raises(
        431,
        4350,
        "Invalid value provided for API arg: zoneid",
        params.parse,
        "deployVirtualMachine",
        declared,
        {"zoneid": ""},
        {},
    )


def test_names_are_case_insensitive() -> None:
    raw = params.merged([("pageSize", "5"), ("Page", "1")])
    parsed = params.parse(
        "listZones", [fact("page", "integer"), fact("pagesize", "integer")], raw, {}
    )
    assert parsed == {"page": 1, "pagesize": 5}


@given(st.text(max_size=12))
def test_booleans_never_fail(value: str) -> None:
    assert parse_one("boolean", value) is (value.strip().lower() == "true")


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_integers_round_trip(number: int) -> None:
    assert parse_one("integer", str(number)) == number


@given(st.text(max_size=8).filter(lambda v: not v.strip().lstrip("+-").isdigit()))
def test_bad_integers_get_the_real_error(value: str) -> None:
    raises(
        431,
        9999,
        f"Unable to execute API command listthings due to invalid value {value} for parameter x",
        parse_one,
        "integer",
        value,
    )


def test_integer_overflow_is_a_bad_value() -> None:
    with pytest.raises(errors.ApiError):
        parse_one("integer", str(2**31))
    assert parse_one("long", str(2**40)) == 2**40


def test_uuid_rules() -> None:
    good = "0d6e5f41-9a7b-4c3d-8e2f-1a0b9c8d7e6f"
    assert parse_one("uuid", good) == params.UuidRef("x", None, good)
    assert parse_one("uuid", "not-a-uuid", since="4.2") is None  # silently ignored
    assert parse_one("uuid", "42") == params.UuidRef("x", None, "42")  # pre-3.0 numeric id
    assert parse_one("uuid", "42", since="4.2") is None
    assert parse_one("uuid", "-1") == params.UuidRef("x", None, "-1")


def test_lists_drop_empty_items() -> None:
    assert parse_one("list", "a,,b,") == ["a", "b"]


def test_string_length() -> None:
    raises(
        431,
        9999,
        "Unable to execute API command listthings due to invalid value. Value greater than max allowed length 3 for param: x",
        params.parse_value,
        "listThings",
        fact("x", "string", length=3),
        "abcd",
    )


def test_dates() -> None:
    assert parse_one("date", "2026-01-15") == datetime(2026, 1, 15, tzinfo=UTC)
    assert parse_one("date", "2026-01-15 10:00:00") == datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert params.parse_date("c", "endDate", "2026-01-15") == datetime(
        2026, 1, 15, 23, 59, 59, tzinfo=UTC
    )
    raises(
        431,
        9999,
        "Unable to parse date soon for command listthings, please pass dates in the format mentioned in the api documentation",
        parse_one,
        "date",
        "soon",
    )


def test_control_characters_refused() -> None:
    raises(
        431,
        9999,
        "Received value containing illegal ASCII non-printable characters for parameter name",
        params.check_printable,
        [("name", "a\tb")],
    )
    params.check_printable([("name", "line\r\nbreak"), ("activationrule", "\t")])


def test_maps() -> None:
    pairs = [("details[0].cpuNumber", "2"), ("Details[0].memory", "512"), ("tags[1].key", "k")]
    assert params.map_params(pairs) == {
        "details": {0: {"cpuNumber": "2", "memory": "512"}},
        "tags": {1: {"key": "k"}},
    }
    for bad in ("details[a].x", "details[0]x", "details]0[.x", "d[0][1].x"):
        with pytest.raises(errors.ApiError) as caught:
            params.map_params([(bad, "1")])
        assert caught.value.errorcode == 430


def test_paging_rules() -> None:
    assert params.paging({}, 500) == params.Paging(0, 500)
    assert params.paging({"page": 3, "pagesize": 10}, 500) == params.Paging(20, 10)
    assert params.paging({"pagesize": -1}, 500) == params.Paging(0, None)
    raises(
        431,
        4350,
        "Page size can't exceed max allowed page size value: 500",
        params.paging,
        {"page": 1, "pagesize": 501},
        500,
    )
    raises(
        431,
        4350,
        '"pagesize" parameter is required when "page" is specified',
        params.paging,
        {"page": 1},
        500,
    )
    raises(
        431,
        4350,
        '"page" parameter is required when "pagesize" is specified',
        params.paging,
        {"pagesize": 5},
        500,
    )
    raises(
        431,
        4350,
        "Can't specify page parameter when pagesize is -1 (Unlimited)",
        params.paging,
        {"page": 1, "pagesize": -1},
        500,
    )
