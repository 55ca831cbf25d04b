"""Built-in ``overview``: the admin overview (``GET /api/admin/dashboard``) and its data.

How the parts combine: ``traffic.TrafficTally`` is the ``TRAFFIC`` tap (the dashboard's
``/api/*`` requests reach it from ``api``'s after-request handler, the proxy's from its request
recorder) keeping per-bucket, hourly and error figures; ``samples`` reads the Runtime's
Prometheus registry; ``service.OverviewBuilder`` is the ``OVERVIEW`` service, sampling every
10 s into an hour's ring and combining both with backend health and known bucket sizes; ``dto``
renders it for ``api``. The contract is ``stowage.core.contracts.overview``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stowage.core.contracts.backends import BACKENDS
from stowage.core.contracts.overview import OVERVIEW, TRAFFIC
from stowage.hooks import hookimpl
from stowage.plugins.overview.api import blueprint
from stowage.plugins.overview.service import OverviewBuilder
from stowage.plugins.overview.traffic import TrafficTally

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["stowage_blueprints", "stowage_shutdown", "stowage_startup"]


@hookimpl
async def stowage_startup(runtime: Runtime) -> None:
    def known_backend(backend_id: str) -> bool:
        registry = runtime.find(BACKENDS)
        return registry is not None and registry.get(backend_id) is not None

    tally = TrafficTally(known_backend, clock=runtime.clock)
    builder = OverviewBuilder(runtime, tally)
    builder.sample()  # the window's start: figures count from here
    runtime.provide(TRAFFIC, tally)
    runtime.provide(OVERVIEW, builder)
    runtime.spawn(builder.run(), "overview.sample")


@hookimpl
async def stowage_shutdown(runtime: Runtime) -> None:
    runtime.withdraw(OVERVIEW)
    runtime.withdraw(TRAFFIC)


@hookimpl
def stowage_blueprints(runtime: Runtime) -> list[Any]:
    return [blueprint]
