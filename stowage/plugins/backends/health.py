"""Backend health probing: one probe, all backends concurrently, and the 60 s loop.

A probe is the driver's ``probe`` (ListBuckets) bounded by a timeout; its result goes into the
entry's ``BackendHealth`` (last status plus a ring of the last 20 probes). A probe never raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from stowage.core.contracts.backends import HealthProbe, RegisteredBackend
from stowage.core.contracts.driver import ProbeResult, StorageDriver
from stowage.core.formats.timefmt import utcnow

if TYPE_CHECKING:
    from stowage.plugins.backends.registry import Registry

__all__ = [
    "PROBE_INTERVAL",
    "PROBE_TIMEOUT",
    "STARTUP_BUDGET",
    "probe_all",
    "probe_driver",
    "probe_entry",
    "probe_loop",
]

log = logging.getLogger("stowage.backends")

PROBE_TIMEOUT = 5.0
STARTUP_BUDGET = 10.0
PROBE_INTERVAL = 60.0


async def probe_driver(driver: StorageDriver, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """Run ``driver.probe`` within ``timeout``; failures and timeouts become unhealthy results."""
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        # The extra second lets a driver report its own timeout error before we cut it off.
        result = await asyncio.wait_for(driver.probe(timeout=timeout), timeout + 1.0)
    except TimeoutError:
        return ProbeResult(healthy=False, latency_ms=elapsed(), error=f"probe timed out after {timeout:g}s")
    except Exception as exc:  # a probe must never take the caller down
        return ProbeResult(healthy=False, latency_ms=elapsed(), error=str(exc) or type(exc).__name__)
    if not isinstance(result, ProbeResult):
        return ProbeResult(healthy=False, latency_ms=elapsed(), error="driver returned no probe result")
    return result


async def probe_entry(entry: RegisteredBackend, timeout: float = PROBE_TIMEOUT) -> HealthProbe:
    """Probe one registered backend and record the result in its health ring."""
    result = await probe_driver(entry.driver, timeout)
    probe = HealthProbe(at=utcnow(), healthy=result.healthy, latency_ms=result.latency_ms, error=result.error)
    entry.health.add(probe)
    if not result.healthy:
        log.debug("backend probe failed", extra={"backend": entry.spec.id, "error": result.error})
    return probe


async def probe_all(registry: Registry, budget: float = STARTUP_BUDGET) -> None:
    """Probe every registered backend concurrently, giving up on stragglers after ``budget`` s."""
    entries = registry.all()
    if not entries:
        return
    tasks = [asyncio.ensure_future(probe_entry(entry, min(PROBE_TIMEOUT, budget))) for entry in entries]
    _, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def probe_loop(registry: Registry, interval: float = PROBE_INTERVAL) -> None:
    """Probe every backend each ``interval`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            await probe_all(registry, budget=interval)
        except Exception:  # keep probing whatever one round did
            log.exception("backend health round failed")
