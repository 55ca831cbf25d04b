"""Built-in `shares` plugin (being built)."""
