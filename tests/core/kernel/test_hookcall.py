"""Calling hooks (STYLE rule 2): awaited results, resolver walking, order, and error handling."""

from __future__ import annotations

import asyncio
import logging

import pluggy
import pytest

from stowage import hooks
from stowage.core.kernel import hookcall
from stowage.hooks import hookimpl


def new_pm(*plugins: tuple[str, object]) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    for name, plugin in plugins:
        pm.register(plugin, name=name)
    return pm


class SyncResolver:
    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[str] = []

    @hookimpl
    def stowage_share_resolve(self, code: str) -> object:
        self.calls.append(code)
        return self.answer


class AsyncResolver:
    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[str] = []

    @hookimpl
    async def stowage_share_resolve(self, code: str) -> object:
        await asyncio.sleep(0)
        self.calls.append(code)
        return self.answer


async def test_async_firstresult_none_passes_to_next() -> None:
    fallback = SyncResolver("from-fallback")
    declines = AsyncResolver(None)
    # Registered last, so asked first; its coroutine resolves to None and the walk moves on.
    pm = new_pm(("fallback", fallback), ("declines", declines))
    result = await hookcall.call_first(pm, "stowage_share_resolve", code="abc", runtime=None)
    assert result == "from-fallback"
    assert declines.calls == ["abc"]
    assert fallback.calls == ["abc"]


async def test_call_first_stops_at_first_awaited_answer() -> None:
    fallback = SyncResolver("from-fallback")
    answers = AsyncResolver("from-async")
    pm = new_pm(("fallback", fallback), ("answers", answers))
    assert await hookcall.call_first(pm, "stowage_share_resolve", code="abc", runtime=None) == "from-async"
    assert fallback.calls == []


async def test_call_first_treats_false_and_zero_as_answers() -> None:
    pm = new_pm(("fallback", SyncResolver("fallback")), ("no", AsyncResolver(False)))
    assert await hookcall.call_first(pm, "stowage_share_resolve", code="abc", runtime=None) is False
    pm = new_pm(("fallback", SyncResolver("fallback")), ("zero", SyncResolver(0)))
    assert await hookcall.call_first(pm, "stowage_share_resolve", code="abc", runtime=None) == 0


async def test_call_first_with_no_answer_returns_none() -> None:
    pm = new_pm(("a", SyncResolver(None)), ("b", AsyncResolver(None)))
    assert await hookcall.call_first(pm, "stowage_share_resolve", code="abc", runtime=None) is None
    assert await hookcall.call_first(new_pm(), "stowage_share_resolve", code="abc", runtime=None) is None


class Named:
    """Returns its own name from a collect hook; sync or async, with pluggy ordering options."""

    def __init__(self, name: str, log: list[str], *, is_async: bool = False) -> None:
        self.name = name
        self.log = log
        self.is_async = is_async

    def _record(self) -> str:
        self.log.append(self.name)
        return self.name


def make(name: str, log: list[str], *, tryfirst: bool = False, trylast: bool = False, is_async: bool = False):
    if is_async:

        class AsyncImpl(Named):
            @hookimpl(tryfirst=tryfirst, trylast=trylast)
            async def stowage_startup(self, runtime: object) -> str:
                await asyncio.sleep(0)
                return self._record()

        return AsyncImpl(name, log, is_async=True)

    class SyncImpl(Named):
        @hookimpl(tryfirst=tryfirst, trylast=trylast)
        def stowage_startup(self, runtime: object) -> str:
            return self._record()

    return SyncImpl(name, log)


async def test_order_tryfirst_then_later_registered_then_trylast() -> None:
    log: list[str] = []
    pm = new_pm(
        ("last", make("last", log, trylast=True)),
        ("early", make("early", log)),
        ("first", make("first", log, tryfirst=True)),
        ("late", make("late", log, is_async=True)),
        ("last2", make("last2", log, trylast=True, is_async=True)),
    )
    # pluggy keeps trylast implementations in registration order among themselves.
    expected = ["first", "late", "early", "last", "last2"]
    assert [impl.plugin_name for impl in hookcall.implementations(pm, "stowage_startup")] == expected
    assert await hookcall.call_all(pm, "stowage_startup", runtime=None) == expected
    assert log == expected
    # The same order pluggy itself uses for a synchronous call.
    assert [i.plugin_name for i in reversed(pm.hook.stowage_startup.get_hookimpls())] == expected


async def test_sync_and_async_mixed_are_all_awaited() -> None:
    log: list[str] = []
    pm = new_pm(
        ("s1", make("s1", log)),
        ("a1", make("a1", log, is_async=True)),
        ("s2", make("s2", log)),
        ("a2", make("a2", log, is_async=True)),
    )
    results = await hookcall.call_all(pm, "stowage_startup", runtime=None)
    assert results == ["a2", "s2", "a1", "s1"]
    assert all(isinstance(r, str) for r in results)


class Collect:
    def __init__(self, value: object, *, is_async: bool) -> None:
        self.value = value
        self.is_async = is_async

    @hookimpl
    def stowage_cli_commands(self) -> object:
        if self.is_async:

            async def later() -> object:
                return self.value

            return later()
        return self.value


async def test_call_all_collects_non_none_awaited_results() -> None:
    pm = new_pm(
        ("a", Collect(["one"], is_async=False)),
        ("b", Collect(None, is_async=True)),
        ("c", Collect(None, is_async=False)),
        ("d", Collect(["two"], is_async=True)),
        ("e", Collect([], is_async=False)),
    )
    assert await hookcall.call_all(pm, "stowage_cli_commands") == [[], ["two"], ["one"]]


async def test_call_all_propagates_errors() -> None:
    class Boom:
        @hookimpl
        async def stowage_startup(self, runtime: object) -> None:
            raise RuntimeError("startup failed")

    log: list[str] = []
    pm = new_pm(("ok", make("ok", log)), ("boom", Boom()))
    with pytest.raises(RuntimeError, match="startup failed"):
        await hookcall.call_all(pm, "stowage_startup", runtime=None)
    assert log == []  # "boom" runs first (registered last) and stops the walk


async def test_implementations_receive_only_the_arguments_they_name() -> None:
    seen: list[tuple[object, ...]] = []

    class CodeOnly:
        @hookimpl
        def stowage_share_resolve(self, code: str) -> None:
            seen.append((code,))

    class Both:
        @hookimpl
        async def stowage_share_resolve(self, code: str, runtime: object) -> None:
            seen.append((code, runtime))

    pm = new_pm(("code_only", CodeOnly()), ("both", Both()))
    assert await hookcall.call_first(pm, "stowage_share_resolve", code="c1", runtime="rt") is None
    assert seen == [("c1", "rt"), ("c1",)]


class Shutdown:
    def __init__(self, name: str, log: list[str], *, fail: bool = False, is_async: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail = fail
        self.is_async = is_async

    def _run(self) -> str:
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} failed to close")
        return self.name

    @hookimpl
    def stowage_shutdown(self, runtime: object) -> object:
        if self.is_async:

            async def later() -> str:
                return self._run()

            return later()
        return self._run()


async def test_call_all_logged_keeps_going_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    pm = new_pm(
        ("a", Shutdown("a", log)),
        ("b", Shutdown("b", log, fail=True, is_async=True)),
        ("c", Shutdown("c", log, fail=True)),
        ("d", Shutdown("d", log, is_async=True)),
    )
    with caplog.at_level(logging.ERROR, logger="stowage.plugins"):
        results = await hookcall.call_all_logged(pm, "stowage_shutdown", runtime=None)
    assert log == ["d", "c", "b", "a"]
    assert results == ["d", "a"]
    failures = [r for r in caplog.records if r.name == "stowage.plugins"]
    assert [r.plugin for r in failures] == ["c", "b"]  # type: ignore[attr-defined]
    assert all(r.hook == "stowage_shutdown" for r in failures)  # type: ignore[attr-defined]
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in failures)
    assert "c failed to close" in str(failures[0].exc_info[1])  # type: ignore[index]


async def test_call_all_logged_reverse_runs_in_registration_order() -> None:
    log: list[str] = []
    pm = new_pm(
        ("a", Shutdown("a", log)),
        ("b", Shutdown("b", log, is_async=True)),
        ("c", Shutdown("c", log, fail=True)),
    )
    results = await hookcall.call_all_logged(pm, "stowage_shutdown", reverse=True, runtime=None)
    assert log == ["a", "b", "c"]
    assert results == ["a", "b"]


async def test_wrappers_are_never_taken_for_results() -> None:
    # A (sync) pluggy wrapper is a generator function; its generator must not be returned as an answer.
    class Wrapper:
        @hookimpl(wrapper=True)
        def stowage_share_resolve(self, code: str):  # type: ignore[no-untyped-def]
            return (yield)

    pm = new_pm(("answer", SyncResolver("real")), ("wrapper", Wrapper()))
    assert await hookcall.call_first(pm, "stowage_share_resolve", code="x", runtime=None) == "real"
    assert await hookcall.call_all(pm, "stowage_share_resolve", code="x", runtime=None) == ["real"]
