"""Limits on on-demand backend probes (``GET /api/backends/<id>/health``).

Any signed-in user can ask for a probe, and a probe is an outbound connection Stowage makes. So a
backend probed less than ``MIN_INTERVAL`` seconds ago answers its recorded result without a new
connection (concurrent askers wait for the one probe in flight), and each session may ask for at
most ``PER_SESSION_PER_MINUTE`` fresh probes a minute (429 ``rate_limited`` after that). Times come
from ``runtime.clock``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import HealthProbe, RegisteredBackend
from stowage.core.kernel.errors import RateLimited
from stowage.core.kernel.services import ServiceKey
from stowage.core.security.ratelimit import SlidingWindowLimiter
from stowage.plugins.backends.health import PROBE_TIMEOUT, probe_entry

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["MIN_INTERVAL", "PER_SESSION_PER_MINUTE", "ProbeGate", "probe_gate"]

MIN_INTERVAL = 10.0
PER_SESSION_PER_MINUTE = 30
_SERVICE: ServiceKey[ProbeGate] = ServiceKey("backends.probe_gate", provider="backends")


class ProbeGate:
    """Per-backend freshness and per-caller budget for forced probes."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._probed_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._budget = SlidingWindowLimiter(PER_SESSION_PER_MINUTE, 60.0, clock=lambda: runtime.clock())

    def _recent(self, entry: RegisteredBackend) -> HealthProbe | None:
        at = self._probed_at.get(entry.spec.id)
        if at is None or not entry.health.history or self._runtime.clock() - at >= MIN_INTERVAL:
            return None
        return entry.health.history[-1]

    async def probe(self, entry: RegisteredBackend, caller: str) -> HealthProbe:
        """The recent result, else a fresh probe charged to ``caller``."""
        lock = self._locks.setdefault(entry.spec.id, asyncio.Lock())
        async with lock:
            recent = self._recent(entry)
            if recent is not None:
                return recent
            if not self._budget.allow(caller):
                raise RateLimited("too many health probes; try again later")
            probe = await probe_entry(entry, PROBE_TIMEOUT)
            self._probed_at[entry.spec.id] = self._runtime.clock()
            return probe


def probe_gate(runtime: Runtime) -> ProbeGate:
    """The Runtime's gate (created on first use)."""
    return runtime.memo(_SERVICE, lambda: ProbeGate(runtime))
