"""Example audit exporter: append every committed audit batch to a JSON-lines file.

Stowage loads every ``*.py`` in ``plugins.dir`` (default ``./plugins.d``) and registers this one as
``plugins.d/audit_jsonl``. It does nothing until you name a file::

    plugins:
      audit_jsonl:
        path: /var/log/stowage/audit.jsonl

Each line is one event in the API shape (``AuditEvent.to_json()``: ``id``, ``timestamp``,
``action``, ``status`` and the non-empty optional fields). The exporter sees exactly the rows the
audit writer committed, batch by batch, after each commit — events dropped by sampling or by a
full queue never reach it. A failure here (disk full, permissions) is logged by Stowage and never
affects the database or other exporters. Rotate the file with ``logrotate``'s ``copytruncate`` or
a plain rename: the file is reopened for every batch.

Disable it with ``plugins: {disabled: [audit_jsonl]}``. To ship events elsewhere (syslog, a SIEM,
a webhook) copy this file and change ``_append``; see docs/plugins.md, ``stowage_audit_export``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dynaconf import Validator

from stowage.hooks import hookimpl

__version__ = "1.0"

SECTION = "audit_jsonl"


def _append(path: Path, lines: list[str]) -> None:
    # Append mode: concurrent writers (logrotate, another process) never lose earlier lines, and
    # a rotated file is simply created afresh on the next batch.
    with path.open("a", encoding="utf-8") as out:
        out.writelines(lines)
        out.flush()


@hookimpl
def stowage_settings_validators() -> list[Validator]:
    # Empty means "off", so the example is harmless while it ships enabled in plugins.d.
    return [Validator(f"plugins.{SECTION}.path", is_type_of=str, default="")]


@hookimpl
async def stowage_audit_export(events: Sequence[Any], runtime: Any) -> None:
    path = str(runtime.settings.plugins.section(SECTION).get("path") or "")
    if not path or not events:
        return
    lines = [
        json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n" for event in events
    ]
    # File I/O off the event loop: a slow disk must not stall the listeners.
    await asyncio.to_thread(_append, Path(path).expanduser(), lines)
