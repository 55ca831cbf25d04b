"""In-process rate limiters with idle-key eviction.

``SlidingWindowLimiter``: at most ``limit`` events per ``window`` seconds per key (login, API
session, share links). ``TokenBucketLimiter``: ``rate`` tokens per second with a burst of
``⌊2·rate⌋+1`` per key (the S3 proxy). Keys unused for a while are evicted so memory stays bounded.
Single process, single event loop: no locks needed.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from stowage.core.kernel.services import ServiceKey

__all__ = ["LOGIN_LIMITER", "SlidingWindowLimiter", "TokenBucketLimiter", "burst_for"]

Clock = Callable[[], float]
_EVICT_EVERY = 1024  # calls between idle-key sweeps


def burst_for(rate: float) -> int:
    """The original's burst formula: ``⌊2·rate⌋ + 1``."""
    return math.floor(2 * rate) + 1


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._calls = 0

    def allow(self, key: str) -> bool:
        """Record an event for ``key`` and say whether it is within the limit."""
        if self.limit <= 0:
            return True
        now = self._clock()
        self._sweep(now)
        events = self._events.setdefault(key, deque())
        cutoff = now - self.window
        while events and events[0] <= cutoff:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        events = self._events.get(key)
        if not events or len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] + self.window - self._clock())

    def reset(self, key: str) -> None:
        self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)

    def _sweep(self, now: float) -> None:
        self._calls += 1
        if self._calls % _EVICT_EVERY:
            return
        cutoff = now - self.window
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= cutoff]:
            del self._events[key]


class TokenBucketLimiter:
    """``rate`` tokens per second per key, bursting to ``burst`` (default ``⌊2·rate⌋+1``)."""

    def __init__(self, rate: float, burst: int | None = None, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else burst_for(rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._calls = 0

    def allow(self, key: str = "", rate: float | None = None) -> bool:
        """Take a token for ``key``; ``rate`` overrides the default rate for this key."""
        per_second = self.rate if rate is None else rate
        if per_second <= 0:
            return True
        burst = self.burst if rate is None else burst_for(rate)
        now = self._clock()
        self._sweep(now)
        tokens, last = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * per_second)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        self._calls += 1
        if self._calls % _EVICT_EVERY or self.rate <= 0:
            return
        # A bucket idle long enough to be full again carries no state worth keeping.
        idle = max(1.0, self.burst / self.rate)
        for key in [k for k, (_, last) in self._buckets.items() if now - last > idle]:
            del self._buckets[key]


LOGIN_LIMITER: ServiceKey[SlidingWindowLimiter] = ServiceKey("ratelimit.login", provider="auth_local")
"""The per-IP login limiter (RL-1), shared by every login route (local password, OIDC …)."""
