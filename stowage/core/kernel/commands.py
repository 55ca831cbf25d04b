"""The core ``stowage`` subcommands: serve, backup, migrate, config check, plugins, rotate-key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from stowage.core.kernel.command import CliContext, Command
from stowage.core.kernel.errors import ConfigError, StowageError
from stowage.core.kernel.logs import configure_logging, redact
from stowage.core.kernel.plugins import loaded_plugins

__all__ = ["CORE_COMMANDS"]


def _no_args(parser: argparse.ArgumentParser) -> None:
    return None


async def _serve(args: argparse.Namespace, ctx: CliContext) -> int:
    from stowage.core.kernel.runtime import build_runtime
    from stowage.core.kernel.server import serve

    settings, pm = ctx.load()
    configure_logging(settings.log.level, settings.log.format)
    runtime = await build_runtime(settings, pm)
    await runtime.open()
    await serve(runtime)
    return 0


def _backup_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="where to write the snapshot (a single SQLite file)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")


async def _open_store(ctx: CliContext) -> Any:
    from stowage.core.kernel.hookfacade import Hooks

    settings, pm = ctx.load()
    store = await Hooks(pm).store(settings=settings)
    if store is None:
        raise ConfigError(f'db.driver "{settings.db.driver}": no plugin provides it', key="db.driver")
    return store, pm


async def _backup(args: argparse.Namespace, ctx: CliContext) -> int:
    store, _ = await _open_store(ctx)
    if not Path(store.path).exists():
        raise StowageError(f"backup: no database at {store.path}")
    dest = Path(args.path).expanduser().resolve()
    if dest.exists() and not args.force:
        raise StowageError(f"backup: {dest} exists (use --force to overwrite)")
    await store.open()
    try:
        await store.backup(dest, force=args.force)
    finally:
        await store.close()
    print(f"backup written to {dest}")
    return 0


def _migrate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", action="store_true", help="show applied and pending migrations only")


async def _migrate(args: argparse.Namespace, ctx: CliContext) -> int:
    from stowage.core.kernel.hookfacade import Hooks

    store, pm = await _open_store(ctx)
    sets = await Hooks(pm).migrations()
    await store.open()
    try:
        if not args.status:
            applied = await store.apply_migrations(sets)
            for item in applied:
                print(f"applied {item.plugin} {item.version} {item.name}")
            if not applied:
                print("nothing to apply")
        for status in await store.migration_status(sets):
            print(f"{status.plugin}:")
            for done in status.applied:
                print(f"  applied  {done.version:>4}  {done.name}  {done.applied_at or '-'}")
            for todo in status.pending:
                print(f"  pending  {todo.version:>4}  {todo.name}")
            for ahead in status.unknown:
                print(f"  UNKNOWN  {ahead.version:>4}  {ahead.name}  (database is newer than this Stowage)")
    finally:
        await store.close()
    return 0


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    masked = redact(key, value) if not key.endswith("_env") else value
    return masked if value not in ("", None) else value


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["check"], help="check: validate and print effective settings")


def _config(args: argparse.Namespace, ctx: CliContext) -> int:
    settings, _ = ctx.load()
    print("# settings are valid; effective values (secrets masked):")
    yaml.safe_dump(_mask(settings.raw), sys.stdout, sort_keys=False, default_flow_style=False)
    return 0


def _plugins(args: argparse.Namespace, ctx: CliContext) -> int:
    _, pm = ctx.load()
    for info in loaded_plugins(pm):
        print(f"{info.name}\t{info.origin}\t{info.version or '-'}\t{','.join(info.hooks)}")
    return 0


def _quickstart_args(parser: argparse.ArgumentParser) -> None:
    from stowage.core.tooling import quickstart

    quickstart.add_arguments(parser)


def _rotate_key_args(parser: argparse.ArgumentParser) -> None:
    from stowage.core.tooling import rotate_key

    rotate_key.add_arguments(parser)


async def _rotate_key(args: argparse.Namespace, ctx: CliContext) -> int:
    from stowage.core.tooling import rotate_key

    return await rotate_key.run(args, ctx)


async def _quickstart(args: argparse.Namespace, ctx: CliContext) -> int:
    from stowage.core.tooling import quickstart

    return await quickstart.run(args)


CORE_COMMANDS: list[Command] = [
    Command("serve", "run the dashboard (and S3 proxy) listeners", _no_args, _serve),
    Command("backup", "write a consistent online snapshot of the database", _backup_args, _backup),
    Command("migrate", "apply pending migrations, or show them with --status", _migrate_args, _migrate),
    Command("config", "validate settings and print the effective values", _config_args, _config),
    Command("plugins", "list loaded plugins: name, origin, version, hooks", _no_args, _plugins),
    Command("rotate-key", "re-seal every sealed secret under a new root key", _rotate_key_args, _rotate_key),
    Command(
        "quickstart",
        "run Stowage on a fresh data folder with an embedded S3 upstream",
        _quickstart_args,
        _quickstart,
    ),
]
