"""JSON shapes of the backend routes. No shape ever carries a secret."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from stowage.core.contracts.backends import BackendHealth, HealthProbe, RegisteredBackend
from stowage.core.contracts.driver import Capabilities
from stowage.core.contracts.endpoints import EndpointRecord
from stowage.core.formats.timefmt import to_rfc3339

__all__ = ["admin_item", "capabilities_json", "health_item", "probe_json", "public_item", "status_json"]


def capabilities_json(capabilities: Capabilities) -> dict[str, Any]:
    """The API shape of a backend's capabilities."""
    return asdict(capabilities)


def status_json(health: BackendHealth) -> dict[str, Any]:
    """``healthy`` plus ``last_probe_at`` / ``last_error`` when known."""
    out: dict[str, Any] = {"healthy": health.healthy}
    if health.last_probe_at is not None:
        out["last_probe_at"] = to_rfc3339(health.last_probe_at)
    if health.last_error:
        out["last_error"] = health.last_error
    return out


def public_item(entry: RegisteredBackend) -> dict[str, Any]:
    """One entry of ``GET /api/backends``."""
    return {
        "id": entry.spec.id,
        "name": entry.spec.name,
        "capabilities": capabilities_json(entry.driver.capabilities),
        **status_json(entry.health),
    }


def probe_json(probe: HealthProbe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "at": to_rfc3339(probe.at),
        "healthy": probe.healthy,
        "latency_ms": probe.latency_ms,
    }
    if probe.error:
        out["error"] = probe.error
    return out


def health_item(entry: RegisteredBackend) -> dict[str, Any]:
    """One entry of ``GET /api/admin/backends/health``: status and the ≤20-probe history."""
    return {
        "id": entry.spec.id,
        "name": entry.spec.name,
        **status_json(entry.health),
        "latency_ms": entry.health.latency_ms,
        "history": [probe_json(probe) for probe in entry.health.history],
    }


def admin_item(record: EndpointRecord | None, entry: RegisteredBackend | None) -> dict[str, Any]:
    """One entry of the admin list: the database row when there is one, else the registry's."""
    health = entry.health if entry is not None else BackendHealth()
    if record is not None:
        out: dict[str, Any] = {
            "id": record.id,
            "name": record.name,
            "type": record.type,
            "endpoint": record.endpoint,
            "region": record.region,
            "path_style": record.path_style,
            "access_key": record.access_key,
            "secret_set": record.secret_set,
            "enabled": record.enabled,
            "source": "db",
            **status_json(health),
        }
        if record.created_at is not None:
            out["created_at"] = to_rfc3339(record.created_at)
        if record.updated_at is not None:
            out["updated_at"] = to_rfc3339(record.updated_at)
        return out
    if entry is None:
        raise ValueError("admin_item needs a record or a registry entry")
    spec = entry.spec
    return {
        "id": spec.id,
        "name": spec.name,
        "type": spec.type,
        "endpoint": spec.endpoint,
        "region": spec.region,
        "path_style": spec.path_style,
        "access_key": spec.access_key,
        "secret_set": bool(spec.secret_key),
        "enabled": True,
        "source": spec.source,
        **status_json(health),
    }
