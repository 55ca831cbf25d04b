"""Built-in plugins: ordinary plugins registered from ``stowage.core.kernel.plugins.BUILTIN_PLUGINS``."""
