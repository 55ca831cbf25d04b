"""Backend capabilities as the API shows and enforces them: the driver's own, narrowed by what its
upstream answered (``StorageDriver.probe_capabilities``), so no advertised feature ends in a 404.

Listing never fails or waits long for a probe: while a backend is unhealthy, or its probe fails or
runs past ``LIST_WAIT`` seconds, the probed features are shown as off. Routes that need a feature
call ``require_feature`` first and answer 501 ``not_supported`` without it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from stowage.core.contracts.backends import RegisteredBackend
from stowage.core.contracts.driver import Capabilities, DriverError, StorageDriver
from stowage.core.kernel.errors import ApiError

__all__ = ["LIST_WAIT", "listed_capabilities", "not_supported", "require_feature"]

LIST_WAIT = 5.0


def _unprobed(declared: Capabilities) -> Capabilities:
    return replace(declared, versioning=False, tagging=False, bucket_policy=False, lifecycle=False)


# The driver methods behind each probed feature's routes.
_METHODS = {
    "versioning": ("get_versioning", "put_versioning", "list_object_versions"),
    "tagging": ("get_tags", "put_tags"),
    "bucket_policy": ("get_bucket_policy", "put_bucket_policy", "delete_bucket_policy"),
    "lifecycle": ("get_lifecycle", "put_lifecycle"),
}


def _implemented(driver: StorageDriver) -> Capabilities:
    """A driver without ``probe_capabilities`` (written before probing existed): its declared
    capabilities, each probed feature kept only when the driver has the methods its routes call."""
    has = {
        name: all(callable(getattr(driver, method, None)) for method in methods)
        for name, methods in _METHODS.items()
    }
    declared = driver.capabilities
    return replace(
        declared,
        versioning=declared.versioning and has["versioning"],
        tagging=declared.tagging and has["tagging"],
        bucket_policy=declared.bucket_policy and has["bucket_policy"],
        lifecycle=declared.lifecycle and has["lifecycle"],
    )


async def _probed(driver: StorageDriver, bucket: str) -> Capabilities:
    probe = getattr(driver, "probe_capabilities", None)
    return _implemented(driver) if probe is None else await probe(bucket)


async def listed_capabilities(entry: RegisteredBackend) -> Capabilities:
    """What ``GET /api/backends`` shows for ``entry``; never raises."""
    if getattr(entry.driver, "probe_capabilities", None) is None:
        return _implemented(entry.driver)
    if not entry.health.healthy:
        return _unprobed(entry.driver.capabilities)
    try:
        return await asyncio.wait_for(_probed(entry.driver, ""), LIST_WAIT)
    except (DriverError, TimeoutError):
        return _unprobed(entry.driver.capabilities)


def not_supported(feature: str) -> ApiError:
    return ApiError(f"this backend does not support {feature}", code="not_supported", status=501)


async def require_feature(driver: StorageDriver, bucket: str, feature: str) -> None:
    """501 ``not_supported`` unless ``driver``'s upstream supports ``feature`` (a ``Capabilities``
    field), probed against ``bucket`` on first use; 404 when the bucket does not exist."""
    if not getattr(await _probed(driver, bucket), feature):
        raise not_supported(feature.replace("_", " "))
