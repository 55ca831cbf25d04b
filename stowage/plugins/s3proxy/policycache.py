"""``PolicyCache``: anonymous bindings and bucket CORS rules held in memory for the proxy.

Rebuilt from the store after every binding/CORS mutation through the API (awaited before the API
answers) and every 30 s. Lookups are by bucket name, case-insensitively; a bucket
bound on two backends resolves to the first binding in (backend, bucket) order, and CORS rules of
same-named buckets are unioned.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from stowage.plugins.s3proxy.cors import CorsRule
from stowage.plugins.s3proxy.keys import POLICIES

if TYPE_CHECKING:
    from stowage.core.contracts.credentials import StoredBinding
    from stowage.core.kernel.runtime import Runtime

__all__ = ["RELOAD_INTERVAL", "PolicyCache", "policy_cache"]

log = logging.getLogger("stowage.s3proxy.policies")

RELOAD_INTERVAL = 30.0


class PolicyCache:
    """Bindings and CORS rules by lower-cased bucket name."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._bindings: dict[str, StoredBinding] = {}
        self._cors: dict[str, tuple[CorsRule, ...]] = {}
        self._lock = asyncio.Lock()

    def binding(self, bucket: str) -> StoredBinding | None:
        return self._bindings.get(bucket.lower())

    def cors_rules(self, bucket: str) -> tuple[CorsRule, ...]:
        return self._cors.get(bucket.lower(), ())

    async def reload(self) -> None:
        """Re-read bindings and CORS rows from the store."""
        store = self._runtime.store
        async with self._lock:
            bindings: dict[str, StoredBinding] = {}
            for row in await store.anonymous.list():
                if row.mode == "ReadOnly":
                    bindings.setdefault(row.bucket.lower(), row)
            cors: dict[str, list[CorsRule]] = {}
            for entry in await store.cors.all():
                rules = cors.setdefault(entry.bucket.lower(), [])
                rules.extend(CorsRule.from_json(rule) for rule in entry.rules)
            self._bindings = bindings
            self._cors = {bucket: tuple(rules) for bucket, rules in cors.items()}

    async def run_periodic(self, interval: float = RELOAD_INTERVAL) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except Exception:
                log.exception("policy cache reload failed")


def policy_cache(runtime: Runtime) -> PolicyCache | None:
    """The proxy's policy cache (None while the proxy is disabled)."""
    return runtime.find(POLICIES)
