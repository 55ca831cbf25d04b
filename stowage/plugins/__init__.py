"""Built-in plugins: ordinary plugins registered from ``stowage.core.plugins.BUILTIN_PLUGINS``."""
