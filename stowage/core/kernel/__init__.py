"""The kernel: runtime, plugin loading, hook calls, settings, errors, the CLI and serving."""
