"""Every Python example in ``docs/plugins.md`` runs: it imports on its own (no undefined names) and
registers as a plugin in a real Stowage that starts and stops cleanly."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stowage.core.kernel.plugins import loaded_plugins

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```python\n(.*?)```", DOCS, flags=re.DOTALL)
TEST_EXAMPLES = [i for i, source in enumerate(EXAMPLES) if "async def test_" in source]
PLUGIN_EXAMPLES = [i for i in range(len(EXAMPLES)) if i not in TEST_EXAMPLES]
BLUEPRINT_EXAMPLE = next(i for i, source in enumerate(EXAMPLES) if "def stowage_blueprints(" in source)


def load_example(index: int, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(EXAMPLES[index], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_have_examples() -> None:
    assert len(PLUGIN_EXAMPLES) >= 15 and TEST_EXAMPLES


def test_examples_name_nothing_undefined(tmp_path: Path) -> None:
    for index, source in enumerate(EXAMPLES):
        (tmp_path / f"example_{index}.py").write_text(source, encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F821,F811",
         str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("index", PLUGIN_EXAMPLES)
async def test_example_registers_in_a_real_stowage(index: int, tmp_path: Path, stowage_factory: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # an example that writes a relative file writes it here
    name = f"docs_example_{index}"
    module = load_example(index, tmp_path, name)
    hooks = sorted(n for n in vars(module) if n.startswith("stowage_"))
    assert hooks, "the example implements no hook"
    async with stowage_factory(plugins=[(name, module)]) as running:
        info = {plugin.name: plugin for plugin in loaded_plugins(running.runtime.pm)}
        assert sorted(info[name].hooks) == hooks


async def test_testing_example_runs_against_the_blueprint_example(
    tmp_path: Path, stowage_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "my_plugin", load_example(BLUEPRINT_EXAMPLE, tmp_path, "my_plugin"))
    for index in TEST_EXAMPLES:
        namespace: dict[str, Any] = {}
        exec(compile(EXAMPLES[index], f"docs/plugins.md example {index}", "exec"), namespace)
        tests = [value for key, value in namespace.items() if key.startswith("test_")]
        assert tests
        for test in tests:
            await test(stowage_factory)
