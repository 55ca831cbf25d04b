"""Serving: the dashboard listener plus any plugin listeners, in one event loop, stopped together.

Sockets are bound here before Hypercorn starts (handed over as ``fd://``), so a busy port fails
fast with a clear message and tests can bind port 0 and learn the real port. SIGTERM/SIGINT set
one shutdown event: every listener drains within ``server.shutdown_timeout``, then the Runtime
closes (plugins shut down — the audit queue flushes — and the store closes).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from stowage.core.kernel.config import ListenAddress, parse_listen
from stowage.core.kernel.errors import ConfigError
from stowage.core.kernel.wire import install as install_wire_conduct
from stowage.core.web.httpapp import create_app

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["Listener", "bind_socket", "serve"]

log = logging.getLogger("stowage.server")


@dataclass
class Listener:
    """One listening socket and the ASGI app behind it."""

    name: str
    address: ListenAddress
    app: Any
    fd: int = -1
    port: int = 0


def bind_socket(address: ListenAddress, key: str) -> socket.socket:
    """Bind and listen on ``address``; a failure names the setting (``key``)."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address.host, address.port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"{key}: cannot listen on {address.bind()}: {exc.strerror}", key=key) from None
    sock.setblocking(False)
    return sock


def _hypercorn_config(listener: Listener, shutdown_timeout: float) -> Config:
    config = Config()
    config.bind = [f"fd://{listener.fd}"]
    config.graceful_timeout = shutdown_timeout
    config.keep_alive_timeout = 60
    config.read_timeout = None
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.h11_max_incomplete_size = 64 * 1024
    config.include_server_header = False
    return config


async def dashboard_listener(runtime: Runtime) -> Listener:
    """The dashboard app with every plugin's blueprints."""
    app = create_app(runtime, await runtime.hooks.blueprints(runtime=runtime))
    return Listener("dashboard", parse_listen(runtime.settings.server.listen), app)


async def serve(
    runtime: Runtime,
    *,
    shutdown: asyncio.Event | None = None,
    on_ready: Callable[[list[Listener]], None] | None = None,
    install_signals: bool = True,
) -> None:
    """Serve every listener until ``shutdown`` is set (or SIGTERM/SIGINT), then close the Runtime.

    The Runtime must already be opened. ``on_ready`` receives the bound listeners.
    """
    install_wire_conduct()  # reason phrases on status lines, no cleartext HTTP/2 (kernel.wire)
    shutdown = shutdown or asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        listeners = [await dashboard_listener(runtime)]
        listeners += await runtime.hooks.listeners(runtime=runtime)
        for listener in listeners:
            key = "server.listen" if listener.name == "dashboard" else f"{listener.name}.listen"
            sock = bind_socket(listener.address, key)
            listener.port = sock.getsockname()[1]
            # Hypercorn adopts the descriptor and closes it at shutdown; our object lets go of it.
            listener.fd = sock.detach()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, shutdown.set)
        settings = runtime.settings
        log.info(
            "stowage starting",
            extra={
                "listen": settings.server.listen,
                "s3_listen": settings.s3_proxy.listen if settings.s3_proxy.enabled else "",
                "auth_modes": list(settings.auth.modes),
                "backends": len(settings.backends),
                "db": settings.db.sqlite.path,
            },
        )
        tasks = [
            asyncio.ensure_future(
                hypercorn_serve(
                    listener.app,
                    _hypercorn_config(listener, settings.server.shutdown_timeout),
                    shutdown_trigger=shutdown.wait,  # type: ignore[arg-type]
                )
            )
            for listener in listeners
        ]
        if on_ready is not None:
            on_ready(listeners)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        shutdown.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        log.info("stowage stopped")
    finally:
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        await runtime.close()
