"""Who is making a dashboard request: the ``Identity`` every authenticator returns, and roles."""

from __future__ import annotations

from dataclasses import dataclass

from stowage.core.kernel.services import ServiceKey

__all__ = ["OIDC_LOGIN", "ROLES", "WRITER_ROLES", "Identity"]

ROLES = ("admin", "user", "readonly")
WRITER_ROLES = frozenset({"admin", "user"})


@dataclass(frozen=True)
class Identity:
    """An authenticated principal for one request.

    ``csrf_token`` is set when the identity came from a cookie session: mutations then need a
    matching ``X-CSRF-Token`` header. ``session_id`` keys the per-session API limiter.
    """

    user_id: str
    username: str
    role: str
    source: str = "local"
    session_id: str = ""
    csrf_token: str = ""
    must_change_pw: bool = False
    email: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_writer(self) -> bool:
        return self.role in WRITER_ROLES


OIDC_LOGIN: ServiceKey[object] = ServiceKey("auth.oidc", provider="auth_oidc")
"""Present once an OIDC provider initialised; ``/api/auth/config`` lists ``oidc`` only then. The
OIDC plugin (its own issue) narrows the type to its login service."""
