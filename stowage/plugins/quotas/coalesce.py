"""``Coalescer``: one run of a slow count per key at a time, shared by everyone who asks meanwhile.

A run belongs to the Runtime, not to the request that started it: a caller that goes away (a
client disconnect cancels its handler) does not cancel the count the others wait for, and the
Runtime cancels what is still running when it closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["Coalescer"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Coalescer(Generic[K, T]):
    """Share in-flight runs of ``produce(key)`` between concurrent callers of the same key."""

    def __init__(self, runtime: Runtime, name: str, produce: Callable[[K], Awaitable[T]]) -> None:
        self._runtime, self._name, self._produce = runtime, name, produce
        self._running: dict[K, asyncio.Future[T]] = {}

    def running(self, key: K) -> bool:
        return key in self._running

    async def run(self, key: K) -> T:
        """The result of the run in flight for ``key``, or of a new one started now."""
        future = self._running.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._running[key] = future
            self._runtime.spawn(self._fill(key, future), name=self._name)
        return await asyncio.shield(future)

    async def _fill(self, key: K, future: asyncio.Future[T]) -> None:
        try:
            future.set_result(await self._produce(key))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # the waiters re-raise it; none left must not log "never retrieved"
        finally:
            self._running.pop(key, None)
