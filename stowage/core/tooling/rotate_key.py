"""``stowage rotate-key --new-key-file F``: re-seal every sealed value under a new root key.

Order of work, so that an interruption at any point leaves a key that opens the database:

1. Refuse before touching anything when something is wrong: F missing or not a key, no current
   key, F holding the current key, a server still listening, migrations pending, or a declared
   sealed value that does not open with the current key.
2. In **one** write transaction (``store.sealed.rewrite``): unseal each value with the current
   key, seal it with the new one, write it, read it back and check that it opens with the new key
   to the same plaintext. Any failure (or a kill) before the commit leaves the old rows, and the
   old key stays valid.
3. Only after the commit, switch: write the new key into ``server.secret_key_file`` (a temporary
   file renamed over it), or, when the key comes from ``STOWAGE_SECRET_KEY``, tell the operator to
   change the variable. Interrupted between commit and switch, F already holds the right key.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stowage.core.contracts.sealed import SealedValue
from stowage.core.kernel.errors import SecretKeyError, StowageError
from stowage.core.kernel.setting_readers import parse_listen
from stowage.core.security.secretbox import SecretBox, decode_key

if TYPE_CHECKING:
    from stowage.core.contracts.store import Store
    from stowage.core.kernel.command import CliContext
    from stowage.core.kernel.settings import Settings

__all__ = ["CurrentKey", "RotationRefused", "RotationReport", "add_arguments", "reseal_all", "run"]


class RotationRefused(StowageError):
    """rotate-key will not (or could not) go on; the message names the problem and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(f"rotate-key: {message}")


@dataclass(frozen=True)
class CurrentKey:
    """The root key in use and where it lives: ``STOWAGE_SECRET_KEY`` (``path`` None) or a file."""

    key: bytes = field(repr=False)
    path: Path | None


@dataclass
class RotationReport:
    """What a rotation re-sealed, and swept blobs it left alone (they do not open with the old key)."""

    resealed: list[SealedValue]
    skipped: list[SealedValue]

    def counts(self) -> dict[str, int]:
        """Re-sealed values per table."""
        out: dict[str, int] = {}
        for value in self.resealed:
            out[value.table] = out.get(value.table, 0) + 1
        return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--new-key-file",
        required=True,
        help="file with the new root key: 64 hex or 44 base64 characters (`openssl rand -hex 32`)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="skip the check that nothing listens on server.listen (use only when that is not Stowage)",
    )


def read_new_key(path: Path) -> bytes:
    """The key in ``path``; refuses a missing, unreadable or malformed file, naming it."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise RotationRefused(f"new key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RotationRefused(f"cannot read new key file {path}: {exc}") from None
    try:
        return decode_key(text)
    except SecretKeyError as exc:
        raise RotationRefused(f"new key file {path}: {exc}") from None


def current_key(settings: Settings, environ: Mapping[str, str]) -> CurrentKey:
    """The key serve would use, read the same way but never generated (SEC-2's order)."""
    value = environ.get("STOWAGE_SECRET_KEY", "")
    if value:
        try:
            return CurrentKey(decode_key(value), None)
        except SecretKeyError as exc:
            raise RotationRefused(f"STOWAGE_SECRET_KEY: {exc}") from None
    if not settings.server.secret_key_file:
        raise RotationRefused(
            "no root key is configured (STOWAGE_SECRET_KEY and server.secret_key_file are both unset):"
            " there is nothing sealed to rotate"
        )
    path = Path(settings.server.secret_key_file).expanduser().resolve()
    try:
        return CurrentKey(decode_key(path.read_text(encoding="ascii")), path)
    except FileNotFoundError:
        raise RotationRefused(
            f"server.secret_key_file {path} does not exist; rotate-key creates no key"
        ) from None
    except (OSError, UnicodeDecodeError, SecretKeyError) as exc:
        raise RotationRefused(f"server.secret_key_file {path}: {exc}") from None


def check_not_serving(listen: str) -> None:
    """Refuse when something accepts connections on ``server.listen``: a running server would keep
    sealing new secrets with the old key it holds in memory."""
    address = parse_listen(listen)
    if address.port == 0:
        return
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(address.host, address.host)
    try:
        with socket.create_connection((host, address.port), timeout=1.0):
            pass
    except OSError:
        return
    raise RotationRefused(
        f"something is listening on server.listen ({listen}): stop `stowage serve` first, since a running"
        " server keeps sealing with the old key it holds in memory (--force skips this check if that"
        " listener is not Stowage)"
    )


async def reseal_all(store: Store, old: SecretBox, new: SecretBox) -> RotationReport:
    """Re-seal every sealed value in one verified transaction (see the module docstring, step 2)."""
    plaintexts: dict[object, bytes] = {}
    skipped: list[SealedValue] = []

    def reseal(value: SealedValue) -> bytes | None:
        try:
            plaintext = old.unseal(value.blob)
        except SecretKeyError as exc:
            if value.declared:
                raise RotationRefused(
                    f"{value.describe()} does not open with the current root key ({exc}); nothing was changed"
                ) from None
            skipped.append(value)  # a blob that merely looks sealed: not ours to touch
            return None
        plaintexts[value.location] = plaintext
        return new.seal(plaintext)

    def verify(value: SealedValue) -> None:
        try:
            reopened = new.unseal(value.blob)
        except SecretKeyError as exc:
            raise RotationRefused(
                f"{value.describe()}: the re-sealed value does not open with the new key ({exc});"
                " nothing was changed"
            ) from None
        if reopened != plaintexts.get(value.location):
            raise RotationRefused(f"{value.describe()}: the re-sealed value differs; nothing was changed")

    resealed = await store.sealed.rewrite(reseal, verify)
    return RotationReport(resealed, skipped)


def install_key(path: Path, key: bytes) -> None:
    """Replace the key file with ``key`` (hex, mode 0600) in one rename: never a half-written key."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(key.hex())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


async def _migrated(store: Store, ctx: CliContext) -> None:
    from stowage.core.kernel.hookfacade import Hooks

    _, pm = ctx.load()
    for status in await store.migration_status(await Hooks(pm).migrations()):
        if status.unknown:
            raise RotationRefused("the database is newer than this Stowage; rotate with the newer version")
        if status.pending:
            raise RotationRefused("the database has pending migrations: run `stowage migrate` first")


async def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """The ``rotate-key`` command."""
    from stowage.core.kernel.hookfacade import Hooks

    settings, pm = ctx.load()
    new_file = Path(args.new_key_file).expanduser().resolve()
    new_key = read_new_key(new_file)
    current = current_key(settings, os.environ)
    if new_key == current.key:
        raise RotationRefused(
            f"{new_file} holds the current root key; generate a new one (openssl rand -hex 32)"
        )
    if not args.force:
        check_not_serving(settings.server.listen)
    store = await Hooks(pm).store(settings=settings)
    if store is None or not Path(store.path).exists():
        where = store.path if store is not None else settings.db.sqlite.path
        raise RotationRefused(f"no database at {where}")
    await store.open()
    try:
        await _migrated(store, ctx)
        report = await reseal_all(store, SecretBox(current.key), SecretBox(new_key))
    finally:
        await store.close()
    counts = ", ".join(f"{table}: {n}" for table, n in sorted(report.counts().items())) or "none"
    print(f"re-sealed {len(report.resealed)} values with the new key ({counts}); committed")
    for value in report.skipped:
        print(f"left alone (does not open with the old key): {value.describe()}")
    if current.path is None:
        print(
            "the root key comes from STOWAGE_SECRET_KEY: set it to the contents of"
            f" {new_file} before the next start (the old key no longer opens this database)"
        )
        return 0
    try:
        install_key(current.path, new_key)
    except OSError as exc:
        raise RotationRefused(
            f"the database is sealed with the new key now, but writing {current.path} failed ({exc}):"
            f" copy {new_file} to {current.path} before starting Stowage"
        ) from None
    print(f"{current.path} now holds the new key; keep the old key only to restore older backups")
    return 0
