"""Typed service keys: one provider per key, clear errors naming the plugin that should provide it."""

from __future__ import annotations

import pytest

from stowage.core.contracts.audit import AUDIT, NullRecorder, recorder
from stowage.core.contracts.backends import BACKENDS
from stowage.core.kernel.services import MissingServiceError, ServiceConflictError, ServiceKey, Services
from stowage.testing.harness import runtime_for

GREETING: ServiceKey[str] = ServiceKey("greeting", provider="greeter")


def test_provide_then_get_find_and_withdraw() -> None:
    services = Services()
    assert services.find(GREETING) is None
    services.provide(GREETING, "hello")
    assert services.get(GREETING) == "hello" and services.find(GREETING) == "hello"
    assert services.withdraw(GREETING) == "hello"
    assert services.find(GREETING) is None and services.withdraw(GREETING) is None


def test_a_second_provider_is_refused_and_names_the_expected_plugin() -> None:
    services = Services()
    services.provide(GREETING, "hello")
    with pytest.raises(ServiceConflictError, match=r"'greeting' is already provided.*'greeter' plugin"):
        services.provide(GREETING, "bonjour")
    assert services.get(GREETING) == "hello"
    assert services.replace(GREETING, "bonjour") == "hello"  # a deliberate swap is explicit
    assert services.get(GREETING) == "bonjour"


def test_a_missing_service_names_its_plugin() -> None:
    with pytest.raises(
        MissingServiceError, match=r"service 'greeting' is not available: the 'greeter' plugin"
    ):
        Services().get(GREETING)


def test_keys_compare_by_identity_not_by_name() -> None:
    services = Services()
    services.provide(GREETING, "hello")
    impostor: ServiceKey[str] = ServiceKey("greeting", provider="greeter")
    assert services.find(impostor) is None


def test_memo_builds_once() -> None:
    services, built = Services(), []
    for _ in range(3):
        services.memo(GREETING, lambda: built.append(1) or "made")
    assert built == [1] and services.get(GREETING) == "made"


async def test_runtime_without_the_backends_plugin_says_which_plugin_is_missing(tmp_path) -> None:
    settings = {"plugins": {"disabled": ["backends", "quotas", "audit"]}}
    runtime = await runtime_for(tmp_path, settings)
    with pytest.raises(MissingServiceError, match="'backends' plugin provides it"):
        runtime.get(BACKENDS)
    assert runtime.find(AUDIT) is None
    assert isinstance(recorder(runtime), NullRecorder)
