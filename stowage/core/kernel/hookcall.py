"""The one place hooks are called: awaits async implementations and walks resolvers itself.

pluggy is synchronous and its ``firstresult`` stops at the first non-None value, which a
coroutine always is. So the core never calls ``pm.hook.<name>(...)`` directly; it calls
``call_first`` / ``call_all`` here, which run implementations in pluggy's order (tryfirst,
then last-registered first, then trylast), await awaitables, and for resolvers move on when
an *awaited* result is ``None``. The typed facade ``stowage.core.kernel.hookfacade.Hooks``
(``runtime.hooks``) is built on these; core and plugins call hooks through it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from typing import Any

import pluggy

__all__ = ["call_all", "call_all_logged", "call_all_sync", "call_first", "implementations"]

log = logging.getLogger("stowage.plugins")


def implementations(
    pm: pluggy.PluginManager, hook_name: str, *, registration_order: bool = False
) -> Iterator[pluggy.HookImpl]:
    """Implementations of ``hook_name`` in pluggy's call order, or in registration order.

    Pluggy's order is tryfirst, then last-registered first, then trylast (what resolvers want:
    later plugins override earlier ones). Registration order keeps tryfirst/trylast but runs the
    rest first-registered first (what lifecycle hooks want: the store and audit before users).
    Wrappers produce no results and Stowage hooks never use them.
    """
    caller: pluggy.HookCaller = getattr(pm.hook, hook_name)
    impls = [i for i in caller.get_hookimpls() if not (i.wrapper or i.hookwrapper)]
    if not registration_order:
        # get_hookimpls() is ordered so that pluggy iterates it from the end.
        yield from reversed(impls)
        return
    yield from (i for i in impls if i.tryfirst)
    yield from (i for i in impls if not i.tryfirst and not i.trylast)
    yield from (i for i in impls if i.trylast)


async def _invoke(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
    args = [kwargs[name] for name in impl.argnames]
    result = impl.function(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def call_first(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """Return the first non-None (awaited) result of a resolver hook, or None."""
    for impl in implementations(pm, hook_name):
        result = await _invoke(impl, kwargs)
        if result is not None:
            return result
    return None


async def call_all(
    pm: pluggy.PluginManager, hook_name: str, *, registration_order: bool = False, **kwargs: Any
) -> list[Any]:
    """Call every implementation; return the non-None (awaited) results. Errors propagate."""
    results = []
    for impl in implementations(pm, hook_name, registration_order=registration_order):
        result = await _invoke(impl, kwargs)
        if result is not None:
            results.append(result)
    return results


def call_all_sync(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[Any]:
    """``call_all`` for hooks that fire before an event loop runs (settings, CLI parser).

    An implementation that returns an awaitable is a plugin bug here: refused with its name.
    """
    results = []
    for impl in implementations(pm, hook_name):
        result = impl.function(*[kwargs[name] for name in impl.argnames])
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()  # no "never awaited" warning on top of the error
            raise TypeError(f"{hook_name} of plugin {impl.plugin_name!r} must be synchronous")
        if result is not None:
            results.append(result)
    return results


async def call_all_logged(
    pm: pluggy.PluginManager, hook_name: str, *, reverse: bool = False, **kwargs: Any
) -> list[Any]:
    """Like ``call_all`` but an implementation's exception is logged and the rest still run."""
    impls = list(implementations(pm, hook_name))
    if reverse:
        impls.reverse()
    results = []
    for impl in impls:
        try:
            result = await _invoke(impl, kwargs)
        except Exception:
            log.exception("plugin hook failed", extra={"hook": hook_name, "plugin": impl.plugin_name})
            continue
        if result is not None:
            results.append(result)
    return results
