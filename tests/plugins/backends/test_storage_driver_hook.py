"""The ``stowage_storage_driver`` hook picks a driver per backend type."""

from __future__ import annotations

from stowage.core.contracts.backends import backend_registry
from stowage.core.contracts.driver import BackendSpec, Capabilities, ProbeResult
from stowage.hooks import hookimpl
from stowage.plugins.s3v4 import S3V4Driver


class MemTestDriver:
    """Just enough of a driver to be told apart from ``S3V4Driver``."""

    capabilities = Capabilities(versioning=False)

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        self.closed = False

    async def close(self) -> None:
        self.closed = True

    async def probe(self, timeout: float = 5.0) -> ProbeResult:
        return ProbeResult(True, 0.0)

    async def list_buckets(self):
        return []


class MemTestPlugin:
    @hookimpl
    def stowage_storage_driver(self, backend):
        return MemTestDriver(backend) if backend.type == "memtest" else None


async def test_hook_stowage_storage_driver(stowage_factory, rclone_upstream, upstream_env) -> None:
    settings = {
        "backends": [
            {"id": "mem", "type": "memtest", "endpoint": "memory://"},
            {
                "id": "s3",
                "type": "s3v4",
                "endpoint": rclone_upstream.endpoint_url,
                "access_key_env": "T_AK",
                "secret_key_env": "T_SK",
                "path_style": True,
            },
        ]
    }
    async with stowage_factory(settings, env=upstream_env, plugins=[("memtest", MemTestPlugin())]) as stowage:
        registry = backend_registry(stowage.runtime)
        mem, s3 = registry.driver("mem"), registry.driver("s3")
        assert isinstance(mem, MemTestDriver) and mem.spec.id == "mem"
        assert isinstance(s3, S3V4Driver) and s3.spec.access_key == rclone_upstream.access_key
        assert await s3.list_buckets() is not None
    assert mem.closed
