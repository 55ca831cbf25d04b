"""Identifiers: ULIDs for rows, opaque random tokens, request ids."""

from __future__ import annotations

import base64
import os
import re
import secrets
import time

__all__ = ["accept_request_id", "new_request_id", "new_token", "new_ulid"]

# UUIDs, ULIDs, hex and most tracing ids fit; nothing that could end a header, a log field or
# a CSV cell, nor markup for whoever reads the audit log in a browser.
_INBOUND_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now: float | None = None) -> str:
    """A 26-character ULID: 48-bit millisecond time + 80 random bits, Crockford base32."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, idx = divmod(value, 32)
        chars.append(_CROCKFORD[idx])
    return "".join(reversed(chars))


def new_token(nbytes: int = 32) -> str:
    """An opaque random token, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode()


def new_request_id() -> str:
    """A short unique request id (16 hex characters)."""
    return secrets.token_hex(8)


def accept_request_id(inbound: str) -> str:
    """The client's ``X-Request-Id`` when it is 1-128 of ``[A-Za-z0-9._:-]``, else a fresh id."""
    return inbound if _INBOUND_REQUEST_ID.fullmatch(inbound) else new_request_id()
