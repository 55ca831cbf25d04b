"""``stowage quickstart``: a working Stowage on a fresh data folder with nothing else running.

It writes ``<data-dir>/settings.yaml`` on first use (database, root key file, one backend), starts
the embedded S3 upstream — ``rclone serve s3`` over ``<data-dir>/objects``, so objects stay on
disk — unless ``--upstream URL`` names an existing S3 service, then runs ``serve``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import string
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml

from stowage.core.kernel.errors import ConfigError

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["QuickstartStep", "add_arguments", "run"]

QuickstartStep: TypeAlias = (
    "Callable[[Runtime, argparse.Namespace, Callable[[], str]], Awaitable[dict[str, str]]]"
)
"""One step of ``stowage quickstart`` (``stowage_quickstart_steps``): gets the Runtime, the parsed
arguments and a password generator; returns the banner lines it wants shown."""

ACCESS_ENV = "QUICKSTART_UPSTREAM_ACCESS_KEY"
SECRET_ENV = "QUICKSTART_UPSTREAM_SECRET_KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default="./stowage-data", help="folder for database, key and objects")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="dashboard listener")
    parser.add_argument("--s3-listen", default="127.0.0.1:8090", help="S3 proxy listener")
    parser.add_argument(
        "--upstream",
        default="",
        help=f"use this S3 endpoint instead of the embedded one (keys from {ACCESS_ENV}/{SECRET_ENV})",
    )
    parser.add_argument("--admin-username", default="admin")
    parser.add_argument("--admin-password", default="", help="default: a random 24-character password")


def _random_password(length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def write_settings(data_dir: Path, args: argparse.Namespace, endpoint: str) -> Path:
    """Write (or refresh the endpoint of) the quickstart settings file; return its path."""
    path = data_dir / "settings.yaml"
    settings: dict[str, Any] = {}
    if path.exists():
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    settings.setdefault("server", {})
    settings["server"].update({"listen": args.listen, "secret_key_file": str(data_dir / "stowage.key")})
    settings.setdefault("db", {}).setdefault("sqlite", {})["path"] = str(data_dir / "stowage.db")
    settings.setdefault("log", {"format": "text", "level": "info"})
    settings["s3_proxy"] = {**settings.get("s3_proxy", {}), "enabled": True, "listen": args.s3_listen}
    settings["backends"] = [
        {
            "id": "local",
            "name": "Embedded upstream" if not args.upstream else "Upstream",
            "type": "s3v4",
            "endpoint": endpoint,
            "region": "us-east-1",
            "access_key_env": ACCESS_ENV,
            "secret_key_env": SECRET_ENV,
            "path_style": True,
        }
    ]
    settings.setdefault("plugins", {"dir": str(data_dir / "plugins.d")})
    path.write_text(
        "# Written by `stowage quickstart`; edit freely, it is re-read on every start.\n"
        + yaml.safe_dump(settings, sort_keys=False),
        encoding="utf-8",
    )
    return path


async def run(args: argparse.Namespace) -> int:
    from stowage.core.kernel.logs import configure_logging
    from stowage.core.kernel.runtime import build_runtime, load_settings_and_plugins
    from stowage.core.kernel.server import Listener, serve

    data_dir = Path(args.data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "objects").mkdir(exist_ok=True)
    upstream: Any = None
    if args.upstream:
        if not os.environ.get(ACCESS_ENV) or not os.environ.get(SECRET_ENV):
            raise ConfigError(f"--upstream needs {ACCESS_ENV} and {SECRET_ENV} in the environment")
        endpoint = args.upstream
    else:
        from stowage.core.tooling.rclone_launcher import RcloneUpstream

        os.environ[ACCESS_ENV] = "qs" + secrets.token_hex(8)
        os.environ[SECRET_ENV] = secrets.token_hex(20)
        upstream = RcloneUpstream(data_dir / "objects", os.environ[ACCESS_ENV], os.environ[SECRET_ENV])
        await upstream.start()
        endpoint = upstream.endpoint_url
    try:
        settings_path = write_settings(data_dir, args, endpoint)
        settings, pm = load_settings_and_plugins(str(settings_path))
        configure_logging(settings.log.level, settings.log.format)
        runtime = await build_runtime(settings, pm)
        await runtime.open()
        banner = await _prepare(runtime, args)

        def ready(listeners: list[Listener]) -> None:
            print(_banner(banner, listeners, data_dir, embedded=upstream is not None), flush=True)

        await serve(runtime, on_ready=ready)
    finally:
        if upstream is not None:
            await upstream.stop()
    return 0


async def _prepare(runtime: Any, args: argparse.Namespace) -> dict[str, str]:
    """Create the admin and a first credential where the plugins that own them are loaded."""
    info: dict[str, str] = {}
    for step in await runtime.hooks.quickstart_steps(runtime=runtime):
        info.update(await step(runtime, args, _random_password))
    return info


def _banner(info: dict[str, str], listeners: list[Any], data_dir: Path, *, embedded: bool) -> str:
    lines = ["", "Stowage quickstart is running.", f"  data folder : {data_dir}"]
    for listener in listeners:
        lines.append(f"  {listener.name:<12}: http://{listener.address.host}:{listener.port}")
    if embedded:
        lines.append(f"  upstream    : rclone serve s3 over {data_dir / 'objects'} (objects stay on disk)")
    for key, value in info.items():
        lines.append(f"  {key:<12}: {value}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)
