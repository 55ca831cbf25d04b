"""The store-backed credential cache (PROXY-21) and the ``stowage_credential_lookup`` hook (PROXY-22)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from stowage.core.contracts.credentials import VirtualCredential
from stowage.hooks import hookimpl
from stowage.plugins.s3proxy.credentials import StoreCredentialCache, credential_repository
from tests.plugins.s3proxy.test_credentials_api import SETTINGS, VcTestPlugin, cache_of, vc_plugins

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock for ``runtime.clock``."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


class Warnings(logging.Handler):
    """Collects records from the cache's logger (the stowage tree may not propagate to root)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def insert(runtime: Any, access_key: str, secret: str = "s" * 40, **fields: Any) -> None:
    await credential_repository(runtime).insert(
        access_key=access_key,
        secret_key_enc=runtime.secret_box.seal(secret),
        backend_id=fields.pop("backend_id", "minio"),
        buckets=fields.pop("buckets", ["a"]),
        created_at=T0,
        **fields,
    )


async def test_expiry_is_rechecked_at_lookup(stowage_factory) -> None:
    async with stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin())) as stowage:
        runtime = stowage.runtime
        clock = Clock(T0)
        runtime.clock = clock
        await insert(runtime, "AKIAEXPIRESSOON00000", expires_at=T0 + timedelta(minutes=5))
        await insert(runtime, "AKIAFOREVER000000000")
        cache = cache_of(stowage)
        await cache.reload()
        assert cache.get("AKIAEXPIRESSOON00000") is not None and len(cache) == 2

        clock.at = T0 + timedelta(minutes=5)  # no rebuild in between
        assert cache.get("AKIAEXPIRESSOON00000") is None
        assert cache.get("AKIAFOREVER000000000") is not None

        await cache.reload()  # a rebuild no longer loads it at all
        assert len(cache) == 1


async def test_unusable_rows_are_skipped_and_bad_ones_warned_about(stowage_factory) -> None:
    async with stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin())) as stowage:
        runtime = stowage.runtime
        db = runtime.store.db
        await insert(runtime, "AKIAGOOD000000000000", secret="f" * 40, buckets=["x", "y"], user_id="u1")
        await insert(runtime, "AKIAGARBAGE000000000")
        await db.execute(
            "UPDATE s3_credentials SET secret_key_enc = ? WHERE access_key = ?",
            (b"\x01\x00" + b"\x00" * 40, "AKIAGARBAGE000000000"),
        )
        await insert(runtime, "AKIABADJSON000000000")
        await db.execute(
            "UPDATE s3_credentials SET buckets = '[\"a\",' WHERE access_key = 'AKIABADJSON000000000'"
        )
        await insert(runtime, "AKIADISABLED00000000", enabled=False)
        await insert(runtime, "AKIAEXPIRED000000000", expires_at=datetime(2001, 1, 1, tzinfo=UTC))

        handler = Warnings()
        logger = logging.getLogger("stowage.s3proxy.credentials")
        logger.addHandler(handler)
        try:
            await cache_of(stowage).reload()
        finally:
            logger.removeHandler(handler)

        cache = cache_of(stowage)
        assert len(cache) == 1
        good = cache.get("AKIAGOOD000000000000")
        assert good == VirtualCredential(
            access_key="AKIAGOOD000000000000",
            secret_key="f" * 40,
            backend_id="minio",
            buckets=("x", "y"),
            user_id="u1",
        )
        skipped = {(r.getMessage(), r.__dict__["access_key"]) for r in handler.records}
        assert skipped == {
            ("credential skipped", "AKIAGARBAGE000000000"),
            ("credential skipped", "AKIABADJSON000000000"),
        }
        assert "f" * 40 not in str([r.__dict__ for r in handler.records])


async def test_periodic_rebuild_picks_up_rows_and_flushes_signing_keys(stowage_factory) -> None:
    async with stowage_factory(SETTINGS, plugins=vc_plugins(VcTestPlugin())) as stowage:
        runtime = stowage.runtime
        flushed: list[int] = []
        cache = StoreCredentialCache(runtime, lambda: flushed.append(len(cache)), interval=0.05)
        runtime.spawn(cache.run_periodic(), "test-credential-reload")
        await insert(runtime, "AKIALATECOMER0000000")
        for _ in range(100):
            if cache.get("AKIALATECOMER0000000") is not None:
                break
            await asyncio.sleep(0.02)
        assert cache.get("AKIALATECOMER0000000") is not None
        assert flushed and flushed[-1] == 1


async def test_hook_stowage_credential_lookup(stowage_factory) -> None:
    vault_key = VirtualCredential(
        access_key="AKIAVAULT00000000000",
        secret_key="v" * 40,
        backend_id="minio",
        buckets=("v",),
        source="vault",
    )
    asked: list[str] = []

    class Vault:
        @hookimpl(tryfirst=True)
        def stowage_credential_lookup(self, access_key_id: str, runtime: Any) -> VirtualCredential | None:
            return vault_key if access_key_id == vault_key.access_key else None

    class Undecided:
        @hookimpl
        async def stowage_credential_lookup(self, access_key_id: str, runtime: Any) -> None:
            asked.append(access_key_id)  # an async "not mine" must pass to the store default
            return None

    plugins = [*vc_plugins(VcTestPlugin()), ("vault", Vault()), ("undecided", Undecided())]
    async with stowage_factory(SETTINGS, plugins=plugins) as stowage:
        runtime = stowage.runtime
        await insert(runtime, "AKIASTORED0000000000", secret="e" * 40)
        await cache_of(stowage).reload()

        async def lookup(access_key_id: str) -> Any:
            return await runtime.hooks.credential_lookup(access_key_id=access_key_id, runtime=runtime)

        assert await lookup("AKIAVAULT00000000000") is vault_key
        stored = await lookup("AKIASTORED0000000000")
        assert stored is not None and stored.secret_key == "e" * 40 and stored.source == "sqlite"
        assert await lookup("AKIAUNKNOWN000000000") is None
        assert asked == ["AKIASTORED0000000000", "AKIAUNKNOWN000000000"]
