"""The built-in ``audit`` plugin: records, samples, stores, exports and serves audit events.

How the parts combine:

* ``recorder`` — ``QueueRecorder``, provided at start-up under ``stowage.core.contracts.audit.AUDIT`` so
  ``stowage.core.contracts.audit.recorder(runtime)`` finds it. ``record`` puts events on a bounded queue
  (``audit.queue_size``) and never blocks; one drain task asks ``stowage_audit_sample`` about
  each event, writes batches of up to ``audit.batch_size`` through the store's audit area
  (``stowage.plugins.sqlite.audit`` for SQLite) and hands each committed batch to every
  ``stowage_audit_export``. It owns ``stowage_audit_dropped_total`` and
  ``stowage_audit_queue_depth``.
* ``sampling`` — the ``trylast`` default ``stowage_audit_sample`` (samples successful proxy reads).
* ``api`` + ``csvexport`` — ``GET /api/admin/audit`` and the streamed ``/api/admin/audit.csv``.

Shutdown: ``stowage_shutdown`` waits for everything queued; events other plugins record during
their own shutdown are written when the Runtime cancels the drain task (it drains once more),
which happens before the store closes — whatever order plugins shut down in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Blueprint

from stowage.core.contracts.audit import AUDIT
from stowage.hooks import hookimpl
from stowage.plugins.audit.api import blueprint
from stowage.plugins.audit.recorder import QueueRecorder
from stowage.plugins.audit.sampling import stowage_audit_sample

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["QueueRecorder", "stowage_audit_sample"]


@hookimpl
def stowage_startup(runtime: Runtime) -> None:
    """Install the recorder and start its drain task and its drop reporter."""
    recorder = QueueRecorder(runtime)
    runtime.provide(AUDIT, recorder)
    runtime.spawn(recorder.run(), "audit-writer")
    runtime.spawn(recorder.report_drops_periodically(), "audit-drop-reporter")


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    """Write everything queued so far before the store closes."""
    recorder = runtime.find(AUDIT)
    if isinstance(recorder, QueueRecorder):
        await recorder.close()


@hookimpl
def stowage_blueprints(runtime: Runtime) -> Blueprint:
    return blueprint
