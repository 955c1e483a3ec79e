"""A per-process, time-bounded cache for hot reads of rarely changing rows (zones).

A change in the database is visible within `ttl` seconds, the same bound the API-key cache
gives; entries are keyed by the full filter, so no caller can see another's scope.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class ReadCache(Generic[T]):
    ttl: float
    max_entries: int = 1024
    _entries: dict[Hashable, tuple[float, T]] = field(default_factory=dict)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        if self.ttl <= 0:
            return await load()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = await load()
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value
