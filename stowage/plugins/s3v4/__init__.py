"""Built-in ``s3v4``: the storage driver for any S3-compatible upstream over SigV4.

Parts: ``driver`` (``S3V4Driver``, the ``StorageDriver`` implementation), ``client`` (the pooled
aiobotocore client and streamed GET bodies), ``upload`` (streamed PUTs signed with
``UNSIGNED-PAYLOAD`` and sent over aiohttp) and ``errors`` (upstream failures → driver errors).
It answers ``stowage_storage_driver`` for backends of type ``s3v4`` (or no type at all).
"""

from __future__ import annotations

from stowage.core.contracts.driver import BackendSpec
from stowage.hooks import hookimpl
from stowage.plugins.s3v4.driver import S3V4Driver

__all__ = ["S3V4Driver", "stowage_storage_driver"]

TYPES = ("s3v4", "")


@hookimpl(trylast=True)
def stowage_storage_driver(backend: BackendSpec) -> S3V4Driver | None:
    """An ``S3V4Driver`` for ``s3v4`` backends; ``None`` for any other type."""
    if backend.type not in TYPES:
        return None
    return S3V4Driver(backend)
