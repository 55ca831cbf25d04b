"""The ``stowage`` command line: core commands plus plugin-contributed ones.

Usage errors print usage on stderr and exit 1; ``help``/``-h``/``--help`` print usage and exit 0;
any other failure prints ``stowage: <error>`` on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from stowage.core.kernel.command import CliContext, Command
from stowage.core.kernel.commands import CORE_COMMANDS
from stowage.core.kernel.errors import StowageError

__all__ = ["CliContext", "Command", "main"]


def _plugin_commands(ctx: CliContext) -> tuple[list[Command], BaseException | None]:
    try:
        _, pm = ctx.load()
    except StowageError as exc:
        return [], exc
    from stowage.core.kernel.hookfacade import Hooks

    return Hooks(pm).cli_commands(), None


def _build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stowage", description="Self-hosted S3 gateway.")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for command in commands:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        child.add_argument("--config", help="settings file (or STOWAGE_CONFIG)")
        command.add_arguments(child)
    return parser


def _config_from_argv(argv: Sequence[str]) -> str | None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(list(argv))
    value: str | None = known.config
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stowage`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    ctx = CliContext(_config_from_argv(args_list))
    commands = list(CORE_COMMANDS)
    core_names = {c.name for c in commands}
    wants_plugins = not args_list or args_list[0] not in core_names
    load_error: BaseException | None = None
    if wants_plugins and args_list:  # help lists plugin commands too (create-admin, hash-password)
        extra, load_error = _plugin_commands(ctx)
        commands = commands + [c for c in extra if c.name not in core_names]
    parser = _build_parser(commands)
    if not args_list:
        parser.print_usage(sys.stderr)
        print("stowage: no command given", file=sys.stderr)
        return 1
    if args_list[0] in {"help", "-h", "--help"}:
        parser.print_help(sys.stdout)
        if load_error is not None:
            print(f"stowage: plugin commands not listed: load config: {load_error}", file=sys.stderr)
        return 0
    if args_list[0] not in {c.name for c in commands}:
        if load_error is not None:
            print(f"stowage: load config: {load_error}", file=sys.stderr)
            return 1
        parser.print_usage(sys.stderr)
        print(f"stowage: unknown command {args_list[0]!r}", file=sys.stderr)
        return 1
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else 1
    command = next(c for c in commands if c.name == args.command)
    try:
        result = command.run(args, ctx)
        if inspect.isawaitable(result):
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                result = runner.run(_await(result))
        return int(result or 0)
    except KeyboardInterrupt:
        return 130
    except StowageError as exc:
        prefix = "load config: " if type(exc).__name__ in {"ConfigError", "PluginError"} else ""
        print(f"stowage: {prefix}{exc}", file=sys.stderr)
        return 1


async def _await(awaitable: Any) -> Any:
    return await awaitable


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (it is, on Linux), unless ``STOWAGE_EVENT_LOOP=asyncio``.

    The proxy spends much of its CPU in the event loop and transport callbacks; uvloop's are
    implemented in C (measured in ``bench/proxy.py``).
    """
    if os.environ.get("STOWAGE_EVENT_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
