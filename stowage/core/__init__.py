"""What every plugin meets, in packages by kind (plugin authors import from ``stowage`` itself):

* ``kernel`` — the Runtime, plugin loading, hook calls, settings, errors, the CLI and serving;
* ``contracts`` — records, store protocols and service interfaces that plugins exchange;
* ``web`` — the dashboard's Quart app, its access pipeline and helpers for route handlers;
* ``security`` — password hashing, sealed secrets, the backend network policy, rate limiters;
* ``formats`` — durations, timestamps, S3 names and identifiers, shared by every surface;
* ``tooling`` — ``stowage quickstart`` and the rclone launcher it starts.
"""
