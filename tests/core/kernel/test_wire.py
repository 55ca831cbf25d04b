"""Status lines and protocol switching on both listeners, as raw bytes on a real socket.

Every status line carries its standard reason phrase (aws-cli v2 and old botocore wait for
``100 Continue`` and treat a bare ``400`` as a dropped connection), and a cleartext listener never
switches to HTTP/2 (h2c upgrade or prior-knowledge preface), which would let a client smuggle
requests past a path-filtering reverse proxy.
"""

from __future__ import annotations

import asyncio
import http
import json
import types
from urllib.parse import urlsplit

import h2.connection
import h2.events
import hypercorn.protocol
from quart import Blueprint, Response

from stowage.core.kernel.wire import Http11Protocol
from stowage.core.web.authz import public
from stowage.hooks import hookimpl
from tests.plugins.backends.endpoint_support import ROLE_HEADER, HeaderAuth
from tests.plugins.s3proxy.proxyenv import proxy_env

statuses = Blueprint("statuses", __name__)
SWEPT = [200, 201, 204, 206, 301, 304, 400, 403, 404, 409, 411, 413, 416, 429, 500, 501, 502, 503, 504]


@statuses.get("/api/test-status/<int:code>")
@public
async def any_status(code: int) -> Response:
    return Response(b"", status=code)


STATUS_PLUGIN = types.SimpleNamespace(stowage_blueprints=hookimpl(lambda runtime: statuses))


class Wire:
    """One raw TCP connection to a listener."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def head(self) -> tuple[bytes, dict[bytes, bytes]]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        status, *lines = raw[:-4].split(b"\r\n")
        return status, {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines)}

    async def response(self) -> tuple[bytes, bytes]:
        """The next final response's status line and body (Content-Length framed)."""
        status, headers = await self.head()
        length = int(headers.get(b"content-length", b"0"))
        body = await asyncio.wait_for(self.reader.readexactly(length), 10) if length else b""
        return status, body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(self, method: str, target: str, extra: str = "") -> tuple[bytes, bytes]:
        await self.send(f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n{extra}\r\n".encode())
        return await self.response()

    async def rest(self) -> bytes:
        """Everything until the server closes the connection."""
        return await asyncio.wait_for(self.reader.read(), 10)

    def close(self) -> None:
        self.writer.close()


async def connect(base_url: str) -> Wire:
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    return Wire(reader, writer, parts.netloc)


def line(code: int) -> bytes:
    return f"HTTP/1.1 {code} {http.HTTPStatus(code).phrase}".encode()


def target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


async def malformed_requests_get_hypercorns_errors(base_url: str) -> None:
    wire = await connect(base_url)
    await wire.send(f"PUT /x HTTP/1.1\r\nHost: {wire.host}\r\nContent-Length: 12abc\r\n\r\n".encode())
    status, _ = await wire.response()
    assert status == line(400)
    assert await wire.rest() == b""  # and the connection is closed
    wire.close()
    wire = await connect(base_url)  # a head past server.h11_max_incomplete_size (64 KiB)
    await wire.send(f"GET / HTTP/1.1\r\nHost: {wire.host}\r\nX-Big: {'a' * 200_000}\r\n\r\n".encode())
    status, _ = await wire.response()
    assert status == line(431)
    wire.close()


async def continue_then_final(
    base_url: str, path: str, body: bytes, method: str = "PUT", extra: str = ""
) -> tuple[bytes, bytes, bytes]:
    """Send a head with ``Expect: 100-continue``, wait for the interim answer, then the body."""
    wire = await connect(base_url)
    await wire.send(
        f"{method} {path} HTTP/1.1\r\nHost: {wire.host}\r\nExpect: 100-continue\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    interim, _ = await wire.head()
    await wire.send(body)
    final, final_body = await wire.response()
    wire.close()
    return interim, final, final_body


async def h2c_upgrade_stays_http11(base_url: str, path: str) -> bytes:
    """The RFC 7540 §3.2 upgrade; answered in HTTP/1.1, and the connection keeps speaking HTTP/1.1."""
    wire = await connect(base_url)
    upgrade = h2.connection.H2Connection()
    settings = upgrade.initiate_upgrade_connection().decode()
    status, body = await wire.request(
        "GET",
        path,
        f"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {settings}\r\n",
    )
    assert not status.startswith(b"HTTP/1.1 101")
    # No switch happened: the same connection reads the next request as HTTP/1.1 again (after a 101
    # it would have expected HTTP/2 frames, which a path-filtering front proxy cannot inspect).
    second, _ = await wire.request("GET", path)
    assert second == status
    wire.close()
    return status


async def prior_knowledge_is_refused(base_url: str) -> None:
    wire = await connect(base_url)
    client = h2.connection.H2Connection()
    client.initiate_connection()
    client.send_headers(
        1,
        [(":method", "GET"), (":path", "/metrics"), (":scheme", "http"), (":authority", wire.host)],
        end_stream=True,
    )
    await wire.send(client.data_to_send())
    answer = await wire.rest()
    wire.close()
    assert answer.startswith(line(505) + b"\r\n"), answer[:80]
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert rest == b""  # nothing after the 505: no HTTP/2 SETTINGS frame, no /metrics
    # Proof that the bytes are an HTTP/2 client's: fed to an HTTP/2 client, the answer is no frame.
    assert not any(isinstance(e, h2.events.ResponseReceived) for e in _h2_events(client, answer))


def _h2_events(client: h2.connection.H2Connection, data: bytes) -> list[object]:
    try:
        return list(client.receive_data(data))
    except h2.exceptions.ProtocolError:
        return []


def test_install_puts_our_protocol_where_hypercorn_looks() -> None:
    # serve() has installed it in earlier tests of this process; installing again is harmless.
    from stowage.core.kernel.wire import install

    install()
    install()
    assert hypercorn.protocol.H11Protocol is Http11Protocol


async def test_dashboard_status_lines_carry_reason_phrases(stowage_factory) -> None:
    plugins = [("statuses", STATUS_PLUGIN), ("test_auth", HeaderAuth())]
    async with stowage_factory(plugins=plugins, root_key=None) as stowage:
        base = stowage.dashboard_url
        # A real 503 (no root key to seal the backend's secret), after a real `100 Continue`.
        backend = {"id": "b1", "name": "b1", "endpoint": "http://127.0.0.1:9", "region": "us-east-1"}
        body = json.dumps({**backend, "access_key": "AK", "secret_key": "SK"}).encode()
        extra = f"{ROLE_HEADER}: admin\r\nContent-Type: application/json\r\n"
        interim, final, answer = await continue_then_final(base, "/api/admin/backends", body, "POST", extra)
        assert (interim, final) == (line(100), line(503))
        assert json.loads(answer)["error"]["code"] == "secret_key_unset"
        wire = await connect(base)
        assert (await wire.request("GET", "/healthz"))[0] == line(200)
        assert (await wire.request("GET", "/no/such/thing"))[0] == line(404)
        for code in SWEPT:  # 204 and 304 have no body, hence no Content-Length: read() gets b""
            assert (await wire.request("GET", f"/api/test-status/{code}"))[0] == line(code)
        wire.close()
        interim, final, _ = await continue_then_final(base, "/api/test-status/200", b"hello")
        assert interim == line(100)
        assert final.startswith(b"HTTP/1.1 ") and final == line(int(final.split()[1]))
        await malformed_requests_get_hypercorns_errors(base)


async def test_proxy_status_lines_carry_reason_phrases(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        s3 = env.client()
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": env.bucket, "Key": "hello.txt"})
        interim, final, _ = await continue_then_final(env.endpoint, target(put_url), b"hello wire")
        assert (interim, final) == (line(100), line(200))
        wire = await connect(env.endpoint)
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": env.bucket, "Key": "hello.txt"})
        assert await wire.request("GET", target(get_url)) == (line(200), b"hello wire")
        missing = s3.generate_presigned_url("get_object", Params={"Bucket": env.bucket, "Key": "nope"})
        status, body = await wire.request("GET", target(missing))
        assert status == line(404)
        assert b"<Code>NoSuchKey</Code>" in body
        status, body = await wire.request("GET", f"/{env.bucket}/hello.txt")  # unsigned
        assert status == line(403)
        wire.close()
        await malformed_requests_get_hypercorns_errors(env.endpoint)


async def test_proxy_slowdown_503_carries_its_phrase(stowage_factory, rclone_upstream, monkeypatch) -> None:
    settings = {"s3_proxy": {"per_key_rps": 0.01}}  # a burst of one request, then SlowDown
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch, settings=settings) as env:
        s3 = env.client()
        url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": env.bucket})
        wire = await connect(env.endpoint)
        assert (await wire.request("GET", target(url)))[0] == line(200)
        status, body = await wire.request("GET", target(url))
        assert status == line(503)
        assert b"<Code>SlowDown</Code>" in body
        wire.close()


async def test_h2c_is_refused_on_both_listeners(stowage_factory, rclone_upstream, monkeypatch) -> None:
    async with proxy_env(stowage_factory, rclone_upstream, monkeypatch) as env:
        dashboard = env.stowage.dashboard_url
        assert await h2c_upgrade_stays_http11(dashboard, "/healthz") == line(200)
        assert await h2c_upgrade_stays_http11(env.endpoint, f"/{env.bucket}") == line(403)
        await prior_knowledge_is_refused(dashboard)
        await prior_knowledge_is_refused(env.endpoint)
        # and the listeners keep serving HTTP/1.1 afterwards
        wire = await connect(dashboard)
        assert (await wire.request("GET", "/healthz"))[0] == line(200)
        wire.close()
