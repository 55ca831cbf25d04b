"""Stand-in plugins for tests: sign requests in from headers, and capture audit events.

Register them through ``stowage_factory(plugins=[...])``::

    auth = HeaderAuth()
    audit = AuditCapture()
    async with stowage_factory(plugins=[("test_auth", auth), ("test_audit", audit)]) as running:
        ...  # requests with ``X-Test-Role: admin`` are signed in as admin
        events = await audit.collected("share.")

``HeaderAuth`` trusts any client that sends the header: it belongs in tests only.
"""

from __future__ import annotations

from typing import Any

from stowage.core.contracts.audit import AUDIT, AuditEvent, recorder
from stowage.core.contracts.identity import Identity
from stowage.hooks import hookimpl

__all__ = ["ROLE_HEADER", "USER_HEADER", "AuditCapture", "HeaderAuth"]

ROLE_HEADER = "X-Test-Role"
USER_HEADER = "X-Test-User"


class HeaderAuth:
    """Authenticates ``/api`` requests from ``X-Test-Role`` (and ``X-Test-User`` when given).

    ``user_id`` and ``username`` are format strings over ``{role}`` and ``{user}`` (``{user}`` is
    the role when the user header is absent); ``require_user`` refuses requests without it.
    """

    def __init__(
        self,
        *,
        user_id: str = "test-{role}",
        username: str = "{role}",
        require_user: bool = False,
        source: str = "test",
    ) -> None:
        self.user_id = user_id
        self.username = username
        self.require_user = require_user
        self.source = source

    @staticmethod
    def headers(role: str, user: str | None = None) -> dict[str, str]:
        """The request headers that sign in as ``role`` (and ``user``)."""
        return {ROLE_HEADER: role, **({USER_HEADER: user} if user else {})}

    @hookimpl
    def stowage_authenticate(self, request: Any, runtime: Any) -> Identity | None:
        role = request.headers.get(ROLE_HEADER)
        user = request.headers.get(USER_HEADER, "")
        if not role or (self.require_user and not user):
            return None
        names = {"role": role, "user": user or role}
        return Identity(
            user_id=self.user_id.format(**names),
            username=self.username.format(**names),
            role=role,
            source=self.source,
        )


class AuditCapture:
    """Collects audit events: the recorder itself when no audit plugin installed one, otherwise
    fed by ``stowage_audit_export`` after each committed batch."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self.runtime: Any = None

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    async def flush(self) -> None:
        return None

    @hookimpl(trylast=True)
    def stowage_startup(self, runtime: Any) -> None:
        self.runtime = runtime
        if runtime.find(AUDIT) is None:
            runtime.provide(AUDIT, self)

    @hookimpl(trylast=True)
    def stowage_audit_export(self, events: Any, runtime: Any) -> None:
        self.events.extend(events)

    async def collected(self, action_prefix: str = "") -> list[AuditEvent]:
        """Flush the recorder in use; the events so far whose action starts with ``action_prefix``."""
        if self.runtime is not None:
            active = recorder(self.runtime)
            if active is not self:
                await active.flush()
        return [e for e in self.events if e.action.startswith(action_prefix)]
