"""Start-up loading of database backends: shadowing, disabled rows, unseal failures."""

from __future__ import annotations

import logging

import pytest

from stowage.core.kernel.errors import SecretKeyError
from tests.plugins.backends.endpoint_support import backend_body, closed_port_url, started

KEY_A = "a1" * 32
KEY_B = "b2" * 32


async def _seed(stowage_factory, upstream, folder) -> None:
    async with started(stowage_factory, directory=folder, root_key=KEY_A) as h:
        for body in (
            backend_body(upstream, "dup"),
            backend_body(upstream, "on"),
            backend_body(upstream, "off", enabled=False),
        ):
            assert (await h.api.call("POST", "/api/admin/backends", json=body))[0] == 201


async def test_restart_registers_enabled_rows_and_yaml_shadows_db_row(
    stowage_factory, rclone_upstream, s3_bucket, tmp_path, caplog
) -> None:
    folder = tmp_path / "node"
    await _seed(stowage_factory, rclone_upstream, folder)
    yaml = {"backends": [{"id": "dup", "type": "s3v4", "endpoint": closed_port_url()}]}
    caplog.set_level(logging.WARNING, logger="stowage.backends")
    async with started(stowage_factory, yaml, directory=folder, root_key=KEY_A) as h:
        registry = h.registry()
        assert [e.spec.id for e in registry.all()] == ["dup", "on"]
        assert registry.get("dup").spec.source == "config"
        assert registry.get("on").spec.source == "db"
        assert s3_bucket in {b.name for b in await registry.driver("on").list_buckets()}
        status, body = await h.api.call("GET", "/api/admin/backends")
        assert {b["id"]: b["source"] for b in body["backends"]} == {"dup": "config", "off": "db", "on": "db"}
    shadowed = [r for r in caplog.records if r.getMessage() == "db backend shadowed by yaml entry; skipping"]
    assert [getattr(r, "backend", None) for r in shadowed] == ["dup"]
    assert all(r.levelno == logging.WARNING for r in shadowed)


async def test_row_that_does_not_unseal_stops_start_up(stowage_factory, rclone_upstream, tmp_path) -> None:
    folder = tmp_path / "node"
    await _seed(stowage_factory, rclone_upstream, folder)
    with pytest.raises(SecretKeyError, match="cannot unseal"):
        async with started(stowage_factory, directory=folder, root_key=KEY_B):
            pass


async def test_sealed_row_without_root_key_stops_start_up(stowage_factory, rclone_upstream, tmp_path) -> None:
    folder = tmp_path / "node"
    await _seed(stowage_factory, rclone_upstream, folder)
    with pytest.raises(SecretKeyError, match="^sealed secret on disk but STOWAGE_SECRET_KEY is unset$"):
        async with started(stowage_factory, directory=folder, root_key=None):
            pass
