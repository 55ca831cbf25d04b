"""Pytest plugin for Stowage and its plugin authors (registered through the ``pytest11`` entry point).

Fixtures:
- ``stowage_factory``: ``async with stowage_factory(settings={...}, plugins=[("name", obj)]) as s:``
  starts a real Stowage on loopback (fresh database in a temp folder) with your plugin loaded;
  ``s.runtime`` is the Runtime and ``s.dashboard_url`` / ``s.url("s3_proxy")`` its listeners.
- ``rclone_upstream``, ``seaweed_upstream``: real S3 servers on loopback (session-scoped).
- ``s3_bucket``: a fresh bucket on ``rclone_upstream``; ``boto3_client_factory``: S3 clients
  (boto3 comes with the ``dev`` extra and is imported only when a client is built).

Also: ``await s.api_client(role="admin")`` — an in-process client of the dashboard app signed in as
a new local user (session and CSRF handled); ``HeaderAuth`` and ``AuditCapture`` — stand-in plugins
that sign requests in from ``X-Test-Role`` and collect audit events.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from stowage.testing.api_client import ApiClient
from stowage.testing.fixtures_s3 import boto3_client_factory, rclone_upstream, s3_bucket, seaweed_upstream
from stowage.testing.harness import RunningStowage, running_stowage, runtime_for, write_settings
from stowage.testing.stand_ins import AuditCapture, HeaderAuth

__all__ = [
    "ApiClient",
    "AuditCapture",
    "HeaderAuth",
    "RunningStowage",
    "boto3_client_factory",
    "rclone_upstream",
    "running_stowage",
    "runtime_for",
    "s3_bucket",
    "seaweed_upstream",
    "stowage_factory",
    "write_settings",
]

StowageFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningStowage]]


@pytest.fixture
def stowage_factory(tmp_path: Path) -> StowageFactory:
    """Start Stowage instances in per-test folders; each is stopped when its block exits."""
    counter = iter(range(1_000_000))

    @contextlib.asynccontextmanager
    async def factory(
        settings: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        plugins: Sequence[tuple[str, object]] = (),
        root_key: str | None = "generate",
        directory: Path | None = None,
    ) -> AsyncIterator[RunningStowage]:
        folder = directory or tmp_path / f"stowage-{next(counter)}"
        folder.mkdir(parents=True, exist_ok=True)
        async with running_stowage(folder, settings, env=env, plugins=plugins, root_key=root_key) as running:
            yield running

    return factory
