"""The static break-glass admin: a username from settings, an argon2id hash from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stowage.core.contracts.identity import Identity
from stowage.core.kernel.errors import ConfigError
from stowage.core.security.passwords import parse_phc

if TYPE_CHECKING:
    from stowage.core.contracts.accounts import Session
    from stowage.core.kernel.config import Settings

__all__ = ["STATIC_ID", "StaticAdmin", "load_static_admin"]

STATIC_ID = "static"
"""User id and identity source of the static admin; its sessions carry both."""


@dataclass(frozen=True)
class StaticAdmin:
    """The configured static account. It has no ``users`` row, no lockout, and no password change."""

    username: str
    password_hash: str

    def identity(self, session: Session) -> Identity:
        """The synthetic admin identity for one of its sessions."""
        return Identity(
            user_id=STATIC_ID,
            username=self.username,
            role="admin",
            source=STATIC_ID,
            session_id=session.id,
            csrf_token=session.csrf_token,
        )


def load_static_admin(settings: Settings, environ: Mapping[str, str] | None = None) -> StaticAdmin | None:
    """Read the static admin's hash from the environment variable the settings name.

    Returns None when static auth is off; raises ``ConfigError`` (start-up stops) when the variable
    is empty or does not hold an argon2id PHC string.
    """
    static = settings.auth.static
    if not static.enabled:
        return None
    env = os.environ if environ is None else environ
    name = static.password_hash_env
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"env {name} is empty; static auth needs the argon2id hash", key="auth.static.password_hash_env"
        )
    try:
        parse_phc(value)
    except ValueError as exc:
        raise ConfigError(
            f"env {name} does not hold an argon2id PHC hash: {exc}", key="auth.static.password_hash_env"
        ) from None
    return StaticAdmin(static.username, value)
