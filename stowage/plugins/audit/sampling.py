"""The default ``stowage_audit_sample``: sampling of successful proxy reads by ``audit.sampling.*``."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from stowage.core.contracts.audit import AuditEvent
from stowage.hooks import hookimpl

if TYPE_CHECKING:
    from stowage.core.kernel.runtime import Runtime

__all__ = ["SAMPLED_METHODS", "is_sampled", "stowage_audit_sample"]

SAMPLED_METHODS = frozenset({"GET", "HEAD"})


def is_sampled(event: AuditEvent) -> bool:
    """Whether ``event`` is subject to sampling at all.

    Only successful proxy reads are: the proxy marks an event ``ok`` only for upstream 2xx/3xx,
    so every failure, denial and write — and every dashboard event — is always recorded.
    """
    return event.origin == "proxy" and event.outcome == "ok" and event.method.upper() in SAMPLED_METHODS


@hookimpl(trylast=True)
def stowage_audit_sample(event: AuditEvent, runtime: Runtime) -> bool:
    """Keep everything except successful proxy reads, kept at ``proxy_success_read_rate``."""
    if not is_sampled(event):
        return True
    rate = runtime.settings.audit.proxy_success_read_rate
    if rate <= 0.0:
        return False
    if rate >= 1.0:
        return True
    return random.random() < rate  # not security-relevant: a statistical sample
