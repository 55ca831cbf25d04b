"""The two floors Stowage's proxy is measured against, written here so the bench owns them.

- ``pump``: the *language floor*, a bare asyncio TCP relay: every client connection gets its own
  upstream connection and bytes are copied both ways, nothing parsed.
- ``forwarder``: the *stack floor*, a pass-through ASGI app on Hypercorn that forwards every
  request through one shared aiohttp session with no logic: it reads the whole request and
  streams the whole response, as a minimal faithful forwarder must.

The driver signs requests for the upstream's own host, so both floors pass headers untouched.

- ``constant``: a bare Hypercorn ASGI app answering a constant 200, the reference for answers that
  never reach an upstream (synthesised ListBuckets, rejected signatures).

Run: ``python bench/floors.py pump --listen 127.0.0.1:9100 --upstream 127.0.0.1:9000`` (or
``forwarder`` / ``constant``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

BUFFER = 256 * 1024


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(BUFFER)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def run_pump(listen: tuple[str, int], upstream: tuple[str, int]) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*upstream)
        await asyncio.gather(_copy(client_reader, up_writer), _copy(up_reader, client_writer))

    server = await asyncio.start_server(handle, *listen, backlog=1024)
    async with server:
        await server.serve_forever()


_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"content-length"}


class Forwarder:
    """ASGI pass-through: same method, path, query and headers to the upstream; stream both ways."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.session: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        import aiohttp
        from yarl import URL

        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=512, limit_per_host=256),
                        auto_decompress=False,
                    )
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await self.session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in _HOP]
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)

        async def body() -> Any:
            while True:
                message = await receive()
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body"):
                    return

        data: Any = None
        if length is not None:
            headers.append(("Content-Length", length.decode()))
            data = body() if int(length) > 0 else b""
        query = scope.get("query_string", b"").decode("latin-1")
        url = URL(
            self.upstream + scope["raw_path"].decode("latin-1") + ("?" + query if query else ""), encoded=True
        )
        async with self.session.request(
            scope["method"], url, headers=headers, data=data, allow_redirects=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as response:  # fmt: skip
            out = [
                (k.lower(), v)
                for k, v in response.raw_headers
                if k.lower() not in _HOP or k.lower() == b"content-length"
            ]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            if scope["method"] != "HEAD":
                async for chunk in response.content.iter_chunked(BUFFER):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def constant(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The rps reference for answers that never reach an upstream: a constant 200."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b"<ok/>"
    headers = [(b"content-type", b"application/xml"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _hypercorn(app: Any, listen: tuple[str, int]) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{listen[0]}:{listen[1]}"]
    config.accesslog = None
    config.keep_alive_timeout = 60
    await serve(app, config)


async def run_forwarder(listen: tuple[str, int], upstream: tuple[str, int]) -> None:
    await _hypercorn(Forwarder(f"http://{upstream[0]}:{upstream[1]}"), listen)


async def run_constant(listen: tuple[str, int], upstream: tuple[str, int]) -> None:
    await _hypercorn(constant, listen)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["pump", "forwarder", "constant"])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    runner = {"pump": run_pump, "forwarder": run_forwarder, "constant": run_constant}[args.kind]
    asyncio.run(runner(_address(args.listen), _address(args.upstream)))


if __name__ == "__main__":
    main()
