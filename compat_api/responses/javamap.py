"""Map fields in the order a Java HashMap iterates them.

CloudStack builds detail maps as `HashMap`s filled in row order; Gson (JSON) and toString
(XML) then walk the hash table bucket by bucket. Reproducing that order keeps the bytes
equal to the real server's for the same rows.
"""

from __future__ import annotations

from compat_api.render import JavaMap

_LOAD_FACTOR = 0.75
_MIN_CAPACITY = 16


def java_string_hash(text: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as an unsigned 32-bit value."""
    value = 0
    data = text.encode("utf-16-be")
    for index in range(0, len(data), 2):
        value = (31 * value + int.from_bytes(data[index : index + 2], "big")) & 0xFFFFFFFF
    return value


def _bucket(key: str, capacity: int) -> int:
    value = java_string_hash(key)
    # HashMap spreads the high half into the low half before masking.
    return (value ^ (value >> 16)) & (capacity - 1)


def java_hash_map(values: dict[str, str]) -> JavaMap:
    """`values` (in insertion order) re-ordered as a HashMap of that size iterates them."""
    capacity = _MIN_CAPACITY
    while len(values) > capacity * _LOAD_FACTOR:
        capacity *= 2
    ordered = sorted(enumerate(values), key=lambda item: (_bucket(item[1], capacity), item[0]))
    return JavaMap({key: values[key] for _, key in ordered})
