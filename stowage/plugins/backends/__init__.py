"""Built-in `backends` plugin (being built)."""
