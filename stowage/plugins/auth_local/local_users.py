"""Account operations shared by the admin API, the CLI and quickstart."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from stowage.core.contracts.accounts import User, UsernameTaken, at, users
from stowage.core.contracts.identity import ROLES
from stowage.core.kernel.errors import BadRequest
from stowage.core.security.passwords import check_password_policy, hash_password

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["check_policy", "create_local_user", "quickstart_admin"]


def check_policy(runtime: Runtime, password: str) -> None:
    """Apply ``auth.local.password.min_length`` (400 ``weak_password``)."""
    check_password_policy(password, runtime.settings.auth.local.min_password_length)


async def create_local_user(
    runtime: Runtime,
    *,
    username: str,
    password: str,
    role: str,
    email: str | None = None,
    must_change_pw: bool = True,
    created_by: str | None = None,
) -> User:
    """Validate, hash and insert a local user; typed errors for bad role, weak password, clashes."""
    if role not in ROLES:
        raise BadRequest("invalid role")
    check_policy(runtime, password)
    # Refuse a known duplicate before paying for a hash; the unique index still decides races.
    if await users(runtime).get_by_username(username) is not None:
        raise UsernameTaken()
    return await users(runtime).create(
        username=username,
        password_hash=await hash_password(password),
        role=role,
        now=at(runtime.clock()),
        email=email or None,
        must_change_pw=must_change_pw,
        created_by=created_by,
    )


async def quickstart_admin(
    runtime: Runtime, args: argparse.Namespace, random_password: Callable[[], str]
) -> dict[str, str]:
    """Quickstart step: create the admin ``args.admin_username`` unless it exists; banner lines."""
    name = str(args.admin_username)
    if await users(runtime).get_by_username(name) is not None:
        return {"admin user": name, "admin password": "(unchanged)"}
    password = str(args.admin_password or "") or random_password()
    await create_local_user(runtime, username=name, password=password, role="admin", must_change_pw=False)
    return {"admin user": name, "admin password": password}
