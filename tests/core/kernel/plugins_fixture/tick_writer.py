"""Test plugin: its own migration, and a start-up task that writes rows as fast as it can."""

from __future__ import annotations

import asyncio

from stowage.core.contracts.store import Migration, MigrationSet
from stowage.hooks import hookimpl


@hookimpl
def stowage_migrations():
    return MigrationSet(
        "tick_writer",
        (Migration(1, "ticks", "CREATE TABLE ticks(id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"),),
    )


async def _write_forever(runtime):
    n = 0
    while True:
        n += 1
        async with runtime.store.db.transaction() as tx:
            for _ in range(20):
                await tx.execute("INSERT INTO ticks(payload) VALUES (?)", ("x" * 2000,))
        if n % 10 == 0:
            await asyncio.sleep(0)


@hookimpl
def stowage_startup(runtime):
    runtime.spawn(_write_forever(runtime), "tick_writer")
