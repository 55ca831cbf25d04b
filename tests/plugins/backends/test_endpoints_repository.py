"""The SQLite ``backends`` repository (``runtime.store.backends``) over the real migration-7 table."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from stowage.core.contracts.endpoints import EndpointRecord
from stowage.plugins.sqlite import CORE_SET, SqliteStore


@pytest.fixture
async def store(tmp_path):
    db = SqliteStore(tmp_path / "stowage.db")
    await db.open()
    await db.apply_migrations([CORE_SET])
    yield db
    await db.close()


async def test_insert_get_list_update_delete(store, tmp_path) -> None:
    repo = store.backends
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = EndpointRecord(
        id="b", name="B", endpoint="http://h:1", access_key="ak", secret_key_enc=b"\x01\x00sealed",
        created_at=created, created_by="u1",
    )  # fmt: skip
    assert await repo.insert(record) is True
    assert await repo.insert(record) is False  # id taken
    assert await repo.insert(EndpointRecord(id="a", name="A", endpoint="http://h:2", enabled=False)) is True

    got = await repo.get("b")
    assert got is not None
    assert (got.type, got.path_style, got.enabled, got.secret_key_enc) == (
        "s3v4",
        True,
        True,
        b"\x01\x00sealed",
    )
    assert (got.created_at, got.updated_at, got.created_by, got.updated_by) == (created, created, "u1", "u1")
    assert "sealed" not in repr(got)
    assert [r.id for r in await repo.list()] == ["a", "b"]
    assert (await repo.get("a")).secret_set is False

    updated = await repo.update("b", {"name": "B2", "enabled": False, "secret_key_enc": b""}, updated_by="u2")
    assert updated is not None and updated.name == "B2" and updated.enabled is False
    assert updated.updated_by == "u2" and updated.updated_at > created
    assert await repo.get("b") == updated
    assert await repo.update("missing", {"name": "x"}) is None
    with pytest.raises(ValueError, match="created_at"):
        await repo.update("b", {"created_at": created})

    assert await repo.delete("b") is True
    assert await repo.delete("b") is False
    assert await repo.get("b") is None

    with sqlite3.connect(store.path) as raw:
        # Empty secrets are stored as NULL, as the original writes them.
        assert raw.execute("SELECT secret_key_enc FROM backends WHERE id = 'a'").fetchone() == (None,)
        (stamp,) = raw.execute("SELECT created_at FROM backends WHERE id = 'a'").fetchone()
    assert stamp.endswith("+00:00") and len(stamp) == len("2026-01-02 03:04:05.000000000+00:00")
