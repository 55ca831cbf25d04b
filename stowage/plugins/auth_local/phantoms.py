"""Lockout for sign-in names that have no usable local account.

A real account locks after ``auth.local.lockout.max_attempts`` wrong passwords and then answers
429 ``account_locked``. If an unknown (or disabled, or non-local) name kept answering 401, the
difference would tell an attacker which names exist. So failures against such names are counted
here, in memory, with the same threshold and window, and they lock the same way.

Memory is bounded: at most ``MAX_NAMES`` names are tracked; the oldest entry is dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stowage.core.kernel.services import ServiceKey

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["MAX_NAMES", "PhantomLockout", "phantom_lockout"]

MAX_NAMES = 10_000
_SERVICE: ServiceKey[PhantomLockout] = ServiceKey("auth_local.phantom_lockout", provider="auth_local")


@dataclass
class _Entry:
    failures: int = 0
    locked_until: float = 0.0


class PhantomLockout:
    """Failure counts by case-folded name; times are ``runtime.clock()`` seconds."""

    def __init__(self, max_attempts: int, window: float) -> None:
        self._max_attempts = max_attempts
        self._window = window
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def locked(self, name: str, now: float) -> bool:
        """True while ``name`` is locked, as a real account would be."""
        entry = self._entries.get(name.casefold())
        return entry is not None and entry.locked_until > now

    def fail(self, name: str, now: float) -> None:
        """Count one failure; from the ``max_attempts``-th on, each locks the name for ``window``
        seconds (as ``users.record_failure`` does: the count survives an expired lock)."""
        key = name.casefold()
        entry = self._entries.pop(key, None) or _Entry()
        entry.failures += 1
        if entry.failures >= self._max_attempts:
            entry.locked_until = now + self._window
        self._entries[key] = entry
        while len(self._entries) > MAX_NAMES:
            self._entries.popitem(last=False)


def phantom_lockout(runtime: Runtime) -> PhantomLockout:
    """The Runtime's lockout for names without a usable account (created on first use)."""
    local = runtime.settings.auth.local
    return runtime.memo(_SERVICE, lambda: PhantomLockout(local.lockout_max_attempts, local.lockout_window))
