"""Built-in `s3v4` plugin (being built)."""
