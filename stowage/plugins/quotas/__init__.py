"""Built-in `quotas` plugin (being built)."""
