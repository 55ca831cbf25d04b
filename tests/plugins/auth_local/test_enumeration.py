"""User enumeration through the lockout: after the same number of failures an
unknown or disabled name answers exactly like a locked real account — status, body, timing class."""

from __future__ import annotations

import statistics
import time

from stowage.core.contracts.accounts import users
from tests.plugins.auth_local.helpers import Client, add_user

SETTINGS = {
    "auth": {"local": {"lockout": {"max_attempts": 3, "window": "15m"}}},
    "ratelimit": {"login_attempts": 1000},
}


async def _attempts(browser: Client, name: str, count: int) -> list[tuple[int, object, float]]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        status, body, _ = await browser.login(name, "wrong-password")
        out.append((status, body, time.perf_counter() - started))
    return out


async def test_unknown_and_disabled_names_lock_like_real_accounts(stowage_factory) -> None:
    async with stowage_factory(SETTINGS) as stowage, Client(stowage.dashboard_url) as browser:
        await add_user(stowage.runtime, "victim")
        disabled = await add_user(stowage.runtime, "sleeper")
        await users(stowage.runtime).update(disabled.id, enabled=False)
        runs = {name: await _attempts(browser, name, 6) for name in ("victim", "ghost", "sleeper", "GHOST2")}

    shapes = {name: [(status, body) for status, body, _ in run] for name, run in runs.items()}
    locked_body = {"error": {"code": "account_locked", "message": "account temporarily locked"}}
    refused_body = {"error": {"code": "invalid_credentials", "message": "invalid credentials"}}
    for name, shape in shapes.items():
        assert shape == [(401, refused_body)] * 3 + [(429, locked_body)] * 3, name
    # Timing class: a locked answer never pays a password verification, for any name; a refused
    # one always does (a real hash for the real account, the dummy hash for the others).
    locked = {name: statistics.median(t for _, _, t in run[3:]) for name, run in runs.items()}
    refused = {name: statistics.median(t for _, _, t in run[:3]) for name, run in runs.items()}
    assert max(locked.values()) < min(refused.values())
    assert max(refused.values()) < 4 * min(refused.values())
