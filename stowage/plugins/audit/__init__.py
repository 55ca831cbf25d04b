"""Built-in `audit` plugin (being built)."""
