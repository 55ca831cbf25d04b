"""Secrets stay sealed and silent: no response or log line carries them, and a
sealed row without the root key stops the server from starting."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from stowage.core.contracts.endpoints import EndpointRecord
from stowage.core.kernel.logs import JsonFormatter
from stowage.testing.harness import write_settings
from tests.plugins.backends.endpoint_support import backend_body, started

SEALED_WITHOUT_KEY = "sealed secret on disk but STOWAGE_SECRET_KEY is unset"


def _log_text(records: list[logging.LogRecord]) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(r) + repr(r.__dict__) for r in records)


async def test_secret_never_appears_in_responses_or_logs(stowage_factory, rclone_upstream, caplog) -> None:
    for name in ("stowage", "hypercorn", "hypercorn.error", "hypercorn.access", "quart"):
        caplog.set_level(logging.DEBUG, logger=name)
    new_secret = "second-secret-" + os.urandom(8).hex()
    secrets = (rclone_upstream.secret_key, new_secret)
    async with started(stowage_factory) as h:
        create = backend_body(rclone_upstream)
        assert (await h.api.call("POST", "/api/admin/backends", json=create))[0] == 201
        assert (await h.api.call("POST", "/api/admin/backends", json=create))[0] == 409
        assert (await h.api.call("POST", "/api/admin/backends/test", json=create))[0] == 200
        bad = backend_body(rclone_upstream, "bad", endpoint="http://u:p@h")
        assert (await h.api.call("POST", "/api/admin/backends", json=bad))[0] == 400
        assert (await h.api.call("PATCH", "/api/admin/backends/ui1", json={"secret_key": new_secret}))[
            0
        ] == 200
        assert (
            await h.api.call("POST", "/api/admin/backends/test", json={**create, "secret_key": new_secret})
        )[0] == 200
        for path in ("/api/admin/backends", "/api/admin/backends/ui1", "/api/admin/backends/health"):
            assert (await h.api.call("GET", path))[0] == 200
        for path in ("/api/backends", "/api/backends/ui1", "/api/backends/ui1/health"):
            assert (await h.api.call("GET", path, role="readonly"))[0] == 200
        events = await h.audit.collected("backend.")
    assert len(h.api.bodies) >= 12
    logged = _log_text(caplog.records)
    assert '"status": 409' in logged  # the capture works: refused requests are logged
    audited = json.dumps([e.to_json() for e in events])
    for secret in secrets:
        assert all(secret not in body for body in h.api.bodies)
        assert secret not in logged
        assert secret not in audited


async def test_create_and_patch_without_root_key_are_refused(stowage_factory, rclone_upstream) -> None:
    async with started(stowage_factory, root_key=None) as h:
        assert h.runtime.secret_box is None
        status, body = await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream))
        assert (status, body["error"]["code"]) == (503, "secret_key_unset")
        row = EndpointRecord(id="plain", name="plain", endpoint="http://127.0.0.1:1", enabled=False)
        assert await h.runtime.store.backends.insert(row)
        status, body = await h.api.call("PATCH", "/api/admin/backends/plain", json={"name": "x"})
        assert (status, body["error"]["code"]) == (503, "secret_key_unset")
        assert (await h.api.call("GET", "/api/admin/backends"))[0] == 200


async def test_server_refuses_to_start_without_root_key_while_a_sealed_row_exists(
    stowage_factory, rclone_upstream, tmp_path
) -> None:
    folder = tmp_path / "node"
    folder.mkdir()
    async with started(stowage_factory, directory=folder) as h:
        assert (await h.api.call("POST", "/api/admin/backends", json=backend_body(rclone_upstream)))[0] == 201
    config = write_settings(folder)  # the same database, listeners on free ports
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "stowage.core.kernel.cli", "serve", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"stowage: {SEALED_WITHOUT_KEY}" in proc.stderr
    assert rclone_upstream.secret_key not in proc.stdout + proc.stderr
