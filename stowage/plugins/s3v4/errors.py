"""Turn upstream failures (botocore, aiohttp, timeouts) into the driver's typed errors.

One table decides the class from the S3 error code, then the HTTP status: the dashboard maps the
result to 404 ``not_found`` / 412 / 416 / 501 / 502 ``backend_error`` in one place of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from stowage.core.contracts.driver import (
    BucketNotFound,
    DriverError,
    InvalidRange,
    NotSupported,
    ObjectNotFound,
    PreconditionFailed,
)
from stowage.core.security.netpolicy import SETTING

__all__ = ["from_code", "parse_error_xml", "translate", "upstream_errors"]

_BY_CODE: dict[str, type[DriverError]] = {
    "NoSuchKey": ObjectNotFound,
    "NoSuchUpload": ObjectNotFound,
    "NoSuchVersion": ObjectNotFound,
    "NoSuchTagSet": ObjectNotFound,
    "NoSuchBucket": BucketNotFound,
    "PreconditionFailed": PreconditionFailed,
    "NotImplemented": NotSupported,
}
_BY_STATUS: dict[int, type[DriverError]] = {404: ObjectNotFound, 412: PreconditionFailed, 501: NotSupported}


def from_code(
    code: str, status: int, message: str, *, bucket_scope: bool = False, size: int = -1
) -> DriverError:
    """The driver error for an upstream ``code``/``status``.

    ``bucket_scope``: a bare 404 (HEAD responses carry no code) means the *bucket* is missing.
    ``size`` feeds ``InvalidRange`` (-1 when the upstream did not say; the caller may HEAD).
    """
    if code == "InvalidRange" or status == 416:
        return InvalidRange(message or "requested range not satisfiable", size=size)
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is ObjectNotFound and bucket_scope and code not in _BY_CODE:
        cls = BucketNotFound
    return (cls or DriverError)(message or code or f"upstream status {status}", code=code, status=status)


def translate(exc: BaseException, *, bucket_scope: bool = False) -> DriverError:
    """The driver error for any exception raised while talking to the upstream."""
    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        size = error.get("ActualObjectSize")
        return from_code(
            str(error.get("Code", "")),
            status,
            str(error.get("Message", "")),
            bucket_scope=bucket_scope,
            size=int(size) if str(size or "").isdigit() else -1,
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return DriverError("upstream timed out", code="timeout")
    refused = _denied_network(exc)
    if refused:
        return DriverError(refused, code="denied_network")
    # Connection refused, DNS, TLS, resets, read timeouts: the backend is unreachable for now.
    return DriverError(f"upstream unreachable: {type(exc).__name__}: {exc}", code="unreachable")


def _denied_network(exc: BaseException) -> str:
    """The refusal of ``core.netpolicy.GuardedResolver`` somewhere in ``exc``'s chain, or "".

    botocore and aiohttp each wrap the resolver's ``OSError``; its text names the rule."""
    seen: list[BaseException] = [exc]
    for current in seen:
        if len(seen) > 8:
            break
        if isinstance(current, OSError) and SETTING in str(current):
            return str(current)
        nested = (
            current.__cause__,
            current.__context__,
            getattr(current, "os_error", None),
            getattr(current, "kwargs", {}).get("error")
            if isinstance(getattr(current, "kwargs", None), dict)
            else None,
        )
        seen.extend(e for e in nested if isinstance(e, BaseException) and e not in seen)
    return ""


@contextlib.contextmanager
def upstream_errors(*, bucket_scope: bool = False) -> Iterator[None]:
    """Re-raise upstream failures inside the block as driver errors."""
    try:
        yield
    except (ClientError, BotoCoreError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise translate(exc, bucket_scope=bucket_scope) from exc


_TAG = re.compile(rb"<(Code|Message|ActualObjectSize)>([^<]{0,1024})</\1>")


def parse_error_xml(body: bytes) -> dict[str, str]:
    """``Code``/``Message``/``ActualObjectSize`` from an S3 XML error body (regex: no XML parser
    sees untrusted input, and these elements never nest)."""
    return {name.decode(): value.decode("utf-8", "replace") for name, value in _TAG.findall(body)}
