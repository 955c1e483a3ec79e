"""The shadow normaliser: order-insensitive lists, volatile and ignored fields, both formats."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compat_api.render import to_xml
from compat_api.shadow_normalise import DEFAULT_VOLATILE, STATUS_FIELD, normalise
from compat_api.shadow_stats import compare

ROOT = "listvirtualmachinesresponse"
names = st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=8)
values = st.one_of(st.integers(-5, 5), st.booleans(), st.text(max_size=6))
vm = st.fixed_dictionaries(
    {"id": st.uuids().map(str), "state": st.sampled_from(["Running", "Stopped"])},
    optional={"name": names, "cpunumber": st.integers(1, 8), "tags": st.lists(values, max_size=3)},
)
vms = st.lists(vm, max_size=6, unique_by=lambda v: v["id"])


def body(items: list[dict[str, Any]], root: str = ROOT) -> bytes:
    content = {"count": len(items), "virtualmachine": items} if items else {}
    return json.dumps({root: content}).encode()


def values_of(flat: Any) -> dict[str, str]:
    return {path: field.value for path, field in flat.items()}


@settings(max_examples=60, deadline=None)
@given(vms, st.randoms(use_true_random=False))
def test_list_order_does_not_matter(items: list[dict[str, Any]], rnd: random.Random) -> None:
    shuffled = [dict(reversed(list(item.items()))) for item in items]
    rnd.shuffle(shuffled)
    for item in shuffled:
        if "tags" in item:
            rnd.shuffle(item["tags"])
    first, second = normalise(200, body(items)), normalise(200, body(shuffled))
    assert values_of(first) == values_of(second)
    assert not compare(first, second).differs


@settings(max_examples=60, deadline=None)
@given(
    vms,
    st.dictionaries(st.sampled_from(sorted(DEFAULT_VOLATILE)), st.text(max_size=10), min_size=1),
)
def test_volatile_fields_are_ignored(items: list[dict[str, Any]], noise: dict[str, str]) -> None:
    noisy = [{**item, **noise} for item in items]
    enveloped = json.loads(body(noisy))
    enveloped[ROOT].update(noise)
    first = normalise(200, body(items))
    second = normalise(200, json.dumps(enveloped).encode())
    assert not compare(first, second).differs


@settings(max_examples=40, deadline=None)
@given(vms, names)
def test_route_ignore_fields_are_ignored(items: list[dict[str, Any]], name: str) -> None:
    changed = [{**item, "zz" + name: "x"} for item in items]
    ignore = {"zz" + name}
    assert not compare(
        normalise(200, body(items), ignore), normalise(200, body(changed), ignore)
    ).differs


@settings(max_examples=40, deadline=None)
@given(vms.filter(bool), st.data())
def test_a_changed_value_is_found_at_its_path(items: list[dict[str, Any]], data: Any) -> None:
    index = data.draw(st.integers(0, len(items) - 1))
    changed = [dict(item) for item in items]
    changed[index]["state"] = "Destroyed"
    comparison = compare(normalise(200, body(items)), normalise(200, body(changed)))
    difference = comparison.fields["virtualmachine[].state"]
    assert difference is not None
    assert difference.path == f"{ROOT}.virtualmachine[{items[index]['id']}].state"
    assert difference.other == "Destroyed"
    assert [g for g, d in comparison.fields.items() if d] == ["virtualmachine[].state"]


def test_paths_and_generic_forms() -> None:
    flat = normalise(200, body([{"id": "a1", "state": "Running", "nic": [{"id": "n1"}]}]))
    assert flat[f"{ROOT}.virtualmachine[a1].state"].generic == "virtualmachine[].state"
    assert flat[f"{ROOT}.virtualmachine[a1].nic[n1].id"].generic == "virtualmachine[].nic[].id"
    assert flat[STATUS_FIELD].value == "200"


def test_xml_one_item_list_flattens_like_json() -> None:
    items = [{"id": "a1", "state": "Running", "cpunumber": 2}]
    xml = to_xml(ROOT, {"count": 1, "virtualmachine": items}, "4.20.2.0").encode()
    from_xml = normalise(200, xml)
    assert from_xml[f"{ROOT}.virtualmachine[a1].state"].value == "Running"
    assert from_xml[f"{ROOT}.virtualmachine[a1].cpunumber"].value == "2"
    from_json = normalise(200, body(items))
    assert values_of(from_json).items() <= values_of(from_xml).items()


def test_items_without_ids_are_compared_after_sorting() -> None:
    tags = [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    first = normalise(200, json.dumps({"r": {"tag": tags}}).encode())
    second = normalise(200, json.dumps({"r": {"tag": tags[::-1]}}).encode())
    assert not compare(first, second).differs
    third = normalise(200, json.dumps({"r": {"tag": [tags[0]]}}).encode())
    assert compare(first, third).fields["tag[].key"] is not None


def test_status_and_unparseable_bodies_compare() -> None:
    assert compare(normalise(200, b"{}"), normalise(530, b"{}")).fields[STATUS_FIELD] is not None
    assert compare(normalise(200, b"oops"), normalise(200, b"oops")).differs is False
    assert compare(normalise(200, b"<a>"), normalise(200, b"{}")).differs


def test_ignore_entries_with_paths_match_generic_tails() -> None:
    items = [{"id": "a1", "nic": [{"id": "n1", "macaddress": "m1"}], "macaddress": "x"}]
    changed = [{"id": "a1", "nic": [{"id": "n1", "macaddress": "m2"}], "macaddress": "y"}]
    ignore = {"nic[].macaddress"}
    comparison = compare(normalise(200, body(items), ignore), normalise(200, body(changed), ignore))
    assert [g for g, d in comparison.fields.items() if d] == ["virtualmachine[].macaddress"]


def test_credentials_are_compared_by_digest_only() -> None:
    def keys(secret: str) -> bytes:
        user = {"id": "u1", "apikey": "AK", "secretkey": secret}
        return json.dumps({"getuserkeysresponse": {"userkeys": user}}).encode()

    first, second = normalise(200, keys("s3cr3t-one")), normalise(200, keys("s3cr3t-two"))
    difference = compare(first, second).fields["userkeys[].secretkey"]
    assert difference is not None
    assert "s3cr3t" not in f"{difference.primary}{difference.other}"
    assert not compare(first, normalise(200, keys("s3cr3t-one"))).differs
