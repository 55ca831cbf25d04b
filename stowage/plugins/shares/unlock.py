"""Unlock cookies for password-protected shares (SHARE-7).

``stowage_unlock_<code>`` = ``<unix-expiry>.<base64url HMAC-SHA256(key, code ‖ 0x00 ‖ expiry)>``,
Path ``/s/<code>``, HttpOnly, SameSite=Lax, Secure on HTTPS, Max-Age 1800. The key is random per
process (a restart invalidates every unlock) and the MAC covers the code, so a cookie taken from one
share opens no other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from quart import Response, request

from stowage.core.kernel.services import ServiceKey
from stowage.core.web.request_context import is_https

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = [
    "UNLOCK_SECONDS",
    "cookie_name",
    "is_unlocked",
    "make_value",
    "set_unlock_cookie",
    "unlock_key",
    "value_opens",
]

UNLOCK_SECONDS = 1800
_SERVICE: ServiceKey[bytes] = ServiceKey("shares.unlock_key", provider="shares")


def unlock_key(runtime: Runtime) -> bytes:
    """This process's HMAC key, drawn on first use."""
    return runtime.memo(_SERVICE, lambda: secrets.token_bytes(32))


def cookie_name(code: str) -> str:
    return f"stowage_unlock_{code}"


def _mac(key: bytes, code: str, expiry: int) -> str:
    digest = hmac.new(key, code.encode() + b"\x00" + str(expiry).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_value(runtime: Runtime, code: str) -> str:
    """A fresh cookie value for ``code``, valid for ``UNLOCK_SECONDS`` from ``runtime.clock``."""
    expiry = int(runtime.clock()) + UNLOCK_SECONDS
    return f"{expiry}.{_mac(unlock_key(runtime), code, expiry)}"


def value_opens(runtime: Runtime, code: str, value: str) -> bool:
    """True when ``value`` is an unexpired unlock for ``code`` (constant-time MAC check)."""
    expiry_text, _, mac = value.partition(".")
    if not expiry_text.isdigit() or not mac:
        return False
    expiry = int(expiry_text)
    expected = _mac(unlock_key(runtime), code, expiry)
    if not hmac.compare_digest(expected.encode(), mac.encode("ascii", "replace")):
        return False
    return expiry > runtime.clock()


def is_unlocked(runtime: Runtime, code: str) -> bool:
    """Whether the current request carries a valid unlock cookie for ``code``."""
    value = request.cookies.get(cookie_name(code), "")
    return bool(value) and value_opens(runtime, code, value)


def set_unlock_cookie(response: Response, runtime: Runtime, code: str) -> None:
    """Attach a new unlock cookie for ``code`` to ``response``."""
    response.set_cookie(
        cookie_name(code),
        make_value(runtime, code),
        max_age=UNLOCK_SECONDS,
        path=f"/s/{code}",
        secure=is_https(),
        httponly=True,
        samesite="Lax",
    )
