"""Meta-tests: every hook documented with its exact signature and covered by a test; exports."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
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
    # Read in a fresh interpreter: under pytest, ``stowage`` is assertion-rewritten (pytest marks the
    # whole package of a ``pytest11`` plugin, and ``stowage.testing`` is one), which adds
    # ``@py_builtins``/``@pytest_ar`` to the module namespace. A plugin author never sees those.
    script = (
        "import inspect, json, stowage\n"
        "names = [n for n, v in vars(stowage).items()\n"
        "         if not n.startswith('_') and not inspect.ismodule(v) and n != 'annotations']\n"
        "print(json.dumps({'public': names, 'all': stowage.__all__}))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    exported = json.loads(done.stdout)
    assert sorted(exported["all"]) == sorted(set(exported["all"])), "duplicates in __all__"
    assert set(exported["all"]) - {"__version__"} == set(exported["public"])


def test_docs_import_what_stowage_exports() -> None:
    # The docs send plugin authors to ``stowage`` itself; each name they import from it exists.
    imported = re.findall(r"^from stowage import (.+)$", DOCS, flags=re.MULTILINE)
    names = {name.strip() for line in imported for name in line.split(",")}
    assert names, "docs/plugins.md imports nothing from stowage"
    assert names <= set(stowage.__all__)


def test_hookspec_docstrings_say_when_they_fire() -> None:
    for name in hookspecs():
        doc = inspect.getdoc(getattr(hooks, name)) or ""
        assert "When:" in doc, name
