"""The backend registry interface: every feature finds a backend's driver through it.

The built-in ``backends`` plugin provides the registry under :data:`BACKENDS`;
features call ``backend_registry(runtime).driver(backend_id)`` (or ``runtime.get(BACKENDS)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from stowage.core.contracts.driver import BackendSpec, StorageDriver
from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "BACKENDS",
    "BackendHealth",
    "BackendRegistry",
    "HealthProbe",
    "RegisteredBackend",
    "backend_registry",
]


@dataclass(frozen=True)
class HealthProbe:
    at: datetime
    healthy: bool
    latency_ms: float
    error: str = ""


@dataclass
class BackendHealth:
    """Last probe result plus a ring of the last 20 probes."""

    healthy: bool = False
    last_probe_at: datetime | None = None
    last_error: str = ""
    latency_ms: float = 0.0
    history: list[HealthProbe] = field(default_factory=list)

    def add(self, probe: HealthProbe, keep: int = 20) -> None:
        self.healthy, self.last_probe_at = probe.healthy, probe.at
        self.last_error, self.latency_ms = probe.error, probe.latency_ms
        self.history.append(probe)
        del self.history[:-keep]


@dataclass
class RegisteredBackend:
    spec: BackendSpec
    driver: StorageDriver
    health: BackendHealth = field(default_factory=BackendHealth)


class BackendRegistry(Protocol):
    def get(self, backend_id: str) -> RegisteredBackend | None: ...

    def all(self) -> list[RegisteredBackend]: ...

    def driver(self, backend_id: str) -> StorageDriver:
        """The driver for ``backend_id``; raises ``NotFound`` ("backend not found")."""
        ...

    async def register(self, spec: BackendSpec) -> RegisteredBackend: ...

    async def unregister(self, backend_id: str) -> None: ...


BACKENDS: ServiceKey[BackendRegistry] = ServiceKey("backends", provider="backends")
"""The backend registry, provided by the built-in ``backends`` plugin."""


def backend_registry(runtime: Runtime) -> BackendRegistry:
    return runtime.get(BACKENDS)
