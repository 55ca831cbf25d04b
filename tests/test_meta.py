"""Meta-tests: every hook documented with its exact signature and covered by a test; exports."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import stowage
from stowage import hooks

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
TEST_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))

# Hooks whose behaviour lands with a later capability; each leaves this set when its test lands.
PENDING_HOOKS: set[str] = set()


def hookspecs() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(func)
        for name, func in vars(hooks).items()
        if name.startswith("stowage_") and callable(func)
    }


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    missing = []
    for name, signature in hookspecs().items():
        call = f"{name}({', '.join(signature.parameters)})"
        if f"`{call}`" not in DOCS:
            missing.append(call)
        if f"def {name}(" not in DOCS:
            missing.append(f"example for {name}")
    assert not missing, f"docs/plugins.md lacks: {missing}"


def test_docs_mention_no_hook_that_does_not_exist() -> None:
    documented = set(re.findall(r"`(stowage_[a-z_]+)\(", DOCS))
    assert documented <= set(hookspecs())


def test_every_hook_has_a_test() -> None:
    untested = [name for name in hookspecs() if f"def test_hook_{name}" not in TEST_SOURCES]
    assert sorted(untested) == sorted(PENDING_HOOKS), "update PENDING_HOOKS or add test_hook_<name>"


def test_exported_members_match_all() -> None:
    public = {name for name in vars(stowage) if not name.startswith("_")} - {
        "hooks",
        "core",
        "plugins",
        "testing",
        "annotations",
    }
    assert set(stowage.__all__) - {"__version__"} == public


def test_hookspec_docstrings_say_when_they_fire() -> None:
    for name in hookspecs():
        doc = inspect.getdoc(getattr(hooks, name)) or ""
        assert "When:" in doc, name
