"""The S3 SigV4 proxy built-in plugin."""
