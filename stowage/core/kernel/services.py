"""Typed service keys: how plugins hand each other long-lived objects through the Runtime.

A service is an object one plugin builds at start-up and others use (the backend registry, the
audit recorder, the quota tracker …). Each has one :class:`ServiceKey`, declared once next to the
Protocol it returns (``stowage.core.contracts.backends.BACKENDS`` returns a ``BackendRegistry``), naming the
plugin expected to provide it. The providing plugin calls ``runtime.provide(KEY, impl)`` in its
``stowage_startup``; users call ``runtime.get(KEY)`` (the service must be there) or
``runtime.find(KEY)`` (``None`` when its plugin is disabled). Keys compare by identity, so two
plugins cannot collide by choosing the same name, and a second ``provide`` of one key is an error.

Per-runtime state private to one plugin (a rate limiter, a cache built on first use) uses a key
declared in that plugin and ``runtime.memo(KEY, factory)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from stowage.core.kernel.errors import StowageError

__all__ = ["MissingServiceError", "ServiceConflictError", "ServiceKey", "Services"]

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """The typed name of one service; ``provider`` is the plugin expected to install it."""

    __slots__ = ("name", "provider")

    def __init__(self, name: str, *, provider: str) -> None:
        self.name = name
        self.provider = provider

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r}, provider={self.provider!r})"


class MissingServiceError(StowageError, LookupError):
    """A required service is not installed (its plugin is disabled or has not started)."""

    def __init__(self, key: ServiceKey[Any]) -> None:
        super().__init__(
            f"service {key.name!r} is not available: the {key.provider!r} plugin provides it"
            " (is it disabled, or not started yet?)"
        )
        self.key = key


class ServiceConflictError(StowageError):
    """A second object was provided for a key that already has one."""

    def __init__(self, key: ServiceKey[Any], existing: object) -> None:
        super().__init__(
            f"service {key.name!r} is already provided (by {type(existing).__qualname__});"
            f" expected exactly one provider, the {key.provider!r} plugin"
        )
        self.key = key


class Services:
    """The Runtime's service table: at most one object per key."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[ServiceKey[Any], object] = {}

    def provide(self, key: ServiceKey[T], impl: T) -> None:
        """Install ``impl`` under ``key``; a key that already has a service raises."""
        existing = self._items.get(key)
        if existing is not None:
            raise ServiceConflictError(key, existing)
        self._items[key] = impl

    def get(self, key: ServiceKey[T]) -> T:
        """The service under ``key``; :class:`MissingServiceError` names its plugin when absent."""
        try:
            return cast(T, self._items[key])
        except KeyError:
            raise MissingServiceError(key) from None

    def find(self, key: ServiceKey[T]) -> T | None:
        """The service under ``key``, or ``None`` when nothing provides it."""
        return cast("T | None", self._items.get(key))

    def withdraw(self, key: ServiceKey[T]) -> T | None:
        """Remove and return the service under ``key`` (at shutdown); ``None`` when absent."""
        return cast("T | None", self._items.pop(key, None))

    def replace(self, key: ServiceKey[T], impl: T) -> T | None:
        """Swap the service under ``key`` on purpose (tests, overrides); return the previous one."""
        previous = self._items.get(key)
        self._items[key] = impl
        return cast("T | None", previous)

    def memo(self, key: ServiceKey[T], factory: Callable[[], T]) -> T:
        """The service under ``key``, built by ``factory`` on first use (per-runtime private state)."""
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = factory()
        return cast(T, found)
