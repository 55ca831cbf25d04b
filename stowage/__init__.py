"""Stowage: a self-hosted S3 gateway with a dashboard API, a SigV4 proxy and share links."""

from __future__ import annotations

from stowage.hooks import hookimpl, hookspec

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl", "hookspec"]
