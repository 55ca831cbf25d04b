"""Quickstart tooling: the one-command quickstart and the rclone launcher it uses."""
