"""Built-in `auth_local` plugin (being built)."""
