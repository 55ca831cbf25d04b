"""Identifiers: ULIDs for rows, opaque random tokens, request ids."""

from __future__ import annotations

import base64
import os
import secrets
import time

__all__ = ["new_request_id", "new_token", "new_ulid"]

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
