"""Upstream answers about a client's document, and settings reads that must not hang.

``refused_as`` turns an upstream's 400 (it judged a policy, lifecycle rules, tags or metadata and
refused them) into the caller's 400 with the upstream's code as ``detail``, rather than a 502
``backend_error``; ``settings_read`` bounds a bucket-settings read to ``READ_TIMEOUT`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from stowage.core.contracts.driver import DriverError
from stowage.core.kernel.errors import BadRequest

__all__ = ["READ_TIMEOUT", "refused_as", "settings_read"]

READ_TIMEOUT = 5.0

T = TypeVar("T")


async def settings_read(call: Awaitable[T]) -> T:
    """``call`` within ``READ_TIMEOUT`` seconds; 502 ``backend_error`` (detail ``timeout``) after."""
    try:
        return await asyncio.wait_for(call, READ_TIMEOUT)
    except TimeoutError:
        raise DriverError("upstream timed out", code="timeout") from None


@contextlib.contextmanager
def refused_as(code: str) -> Iterator[None]:
    """An upstream 400 inside the block becomes 400 ``code`` with the upstream's code as detail."""
    try:
        yield
    except DriverError as exc:
        if exc.status == 400:
            raise BadRequest("the backend refused this document", code=code, detail=exc.code) from None
        raise
