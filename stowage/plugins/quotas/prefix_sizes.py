"""``PrefixSizes``: how much lies under a prefix, counted on demand and kept for 60 seconds.

Any signed-in user may ask, with any prefix, so the work is bounded three ways: concurrent
questions about one prefix share one listing (``Coalescer``), at most ``MAX_RUNNING`` different
prefixes are listed at once (the rest wait their turn), and at most ``MAX_ENTRIES`` answers are
kept (the oldest go first).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stowage.core.contracts.sizes import PrefixSize
from stowage.plugins.quotas.coalesce import Coalescer

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["MAX_ENTRIES", "MAX_RUNNING", "PREFIX_TTL", "PrefixSizes"]

PREFIX_TTL = 60.0
MAX_ENTRIES = 1024
MAX_RUNNING = 4
PrefixKey = tuple[str, str, str]


class PrefixSizes:
    """Cached, coalesced prefix counts; ``count(backend_id, bucket, prefix)`` does the listing."""

    def __init__(
        self,
        runtime: Runtime,
        count: Callable[[str, str, str], Awaitable[tuple[int, int]]],
        *,
        ttl: float = PREFIX_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runtime, self._count, self._ttl, self._clock = runtime, count, ttl, clock
        self._answers: OrderedDict[PrefixKey, tuple[float, PrefixSize]] = OrderedDict()
        self._slots = asyncio.Semaphore(MAX_RUNNING)
        self._runs: Coalescer[PrefixKey, PrefixSize] = Coalescer(runtime, "sizes.prefix", self._measure)

    async def get(self, backend_id: str, bucket: str, prefix: str) -> PrefixSize:
        """A fresh-enough answer from the cache, or the result of a (shared) listing."""
        key = (backend_id, bucket, prefix)
        hit = self._answers.get(key)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit[1]
        return await self._runs.run(key)

    def forget_bucket(self, backend_id: str, bucket: str) -> None:
        """Drop every answer about one bucket (its tracking was switched off, or it was deleted)."""
        for key in [k for k in self._answers if k[:2] == (backend_id, bucket)]:
            del self._answers[key]

    async def _measure(self, key: PrefixKey) -> PrefixSize:
        async with self._slots:
            size, count = await self._count(*key)
        answer = PrefixSize(
            backend_id=key[0],
            bucket=key[1],
            prefix=key[2],
            bytes=size,
            count=count,
            computed_at=datetime.fromtimestamp(self._runtime.clock(), UTC),
        )
        self._answers[key] = (self._clock(), answer)
        self._answers.move_to_end(key)
        while len(self._answers) > MAX_ENTRIES:
            self._answers.popitem(last=False)
        return answer
