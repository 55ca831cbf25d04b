"""``stowage create-admin`` and ``stowage hash-password``."""

from __future__ import annotations

import argparse
import sys

from stowage.core.contracts.accounts import UsernameTaken
from stowage.core.kernel.command import CliContext, Command
from stowage.core.kernel.errors import ApiError, StowageError
from stowage.core.security.passwords import hash_password_sync
from stowage.plugins.auth_local.local_users import create_local_user

__all__ = ["COMMANDS"]


def _create_admin_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", required=True, help="the admin's username")
    parser.add_argument("--password", required=True, help="the admin's password (policy applies)")
    parser.add_argument("--email", default="", help="optional email address")
    parser.add_argument(
        "--must-change-password", action="store_true", help="require a password change at first login"
    )


async def _create_admin(args: argparse.Namespace, ctx: CliContext) -> int:
    from stowage.core.kernel.runtime import build_runtime

    settings, pm = ctx.load()
    runtime = await build_runtime(settings, pm)
    # Store and migrations only: no listeners and no plugin start-up, so this is safe to run
    # beside a live `serve` (SQLite serialises the one insert with the server's writer).
    await runtime.open_store()
    try:
        user = await create_local_user(
            runtime, username=args.username, password=args.password, role="admin",
            email=args.email or None, must_change_pw=args.must_change_password,
        )  # fmt: skip
    except UsernameTaken:
        raise StowageError("create admin: username already taken") from None
    except ApiError as exc:
        raise StowageError(f"create admin: {exc.message}") from None
    finally:
        await runtime.store.close()
    print(f"created admin user {user.username} (id={user.id})")
    return 0


def _hash_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password", default=None, help="the password (read from stdin when omitted)")


def _hash_password(args: argparse.Namespace, ctx: CliContext) -> int:
    password = args.password
    if password is None:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise StowageError("hash-password: empty password")
    print(hash_password_sync(password))
    return 0


COMMANDS: list[Command] = [
    Command("create-admin", "create a local admin account (works beside a running server)",
            _create_admin_args, _create_admin),
    Command("hash-password", "print the argon2id PHC hash of a password (for the static admin)",
            _hash_args, _hash_password),
]  # fmt: skip
