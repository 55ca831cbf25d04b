"""What a ``stowage`` subcommand is: the ``Command`` record and the ``CliContext`` it runs with.

Kept apart from ``cli`` (which builds the parser from every command) so the core commands and the
plugins that contribute commands import these without importing the command line itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CliContext", "Command"]


@dataclass(frozen=True)
class Command:
    """A ``stowage`` subcommand. ``run`` may be sync or async and returns the exit code."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, CliContext], Any]


class CliContext:
    """Lazily loads settings and plugins for the command that needs them."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._loaded: tuple[Any, Any] | None = None

    def load(self) -> tuple[Any, Any]:
        """``(settings, plugin_manager)``; raises ``ConfigError``/``PluginError``."""
        if self._loaded is None:
            from stowage.core.kernel.runtime import load_settings_and_plugins

            self._loaded = load_settings_and_plugins(self.config_path)
        return self._loaded
