"""``ProxyPolicy``: the typed contract through which policies (CORS, POST Object, anonymous reads,
quotas) take part in the proxy pipeline, and ``PolicyChain``, which calls them in order.

A policy subclasses :class:`ProxyPolicy` and overrides only the stages it needs; the others keep
the do-nothing defaults. The chain is built once at startup and keeps, per stage, only the
policies that override it, so a stage nobody uses costs nothing per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.responder import Responder

__all__ = ["HeaderSource", "PolicyChain", "ProxyPolicy"]

HeaderSource = Callable[["ProxyRequest"], Sequence[tuple[bytes, bytes]]]
"""Extra headers for a response to this request (a bound :meth:`ProxyPolicy.response_headers`)."""


class ProxyPolicy(Protocol):
    """One policy's part in the pipeline; every method has a do-nothing default."""

    async def pre_auth(self, req: ProxyRequest, receive: Receive, responder: Responder) -> bool:
        """Answer the request before authentication (True: answered, the pipeline stops here).

        Runs after classification, in policy order; raising an ``S3Error`` answers with it.
        """
        return False

    async def guard_write(self, req: ProxyRequest, incoming: int) -> None:
        """Refuse (raise an ``S3Error``) a PutObject/UploadPart that would write ``incoming`` bytes."""
        return None

    def response_headers(self, req: ProxyRequest) -> Sequence[tuple[bytes, bytes]]:
        """Headers added to every response head of this request."""
        return ()

    async def after_upstream(self, req: ProxyRequest, status: int) -> None:
        """Called with the upstream's status once its response head arrived, before it is relayed."""
        return None


def _overrides(policy: ProxyPolicy, stage: str) -> bool:
    return getattr(type(policy), stage, None) is not getattr(ProxyPolicy, stage)


class PolicyChain:
    """The installed policies, as one tuple of bound methods per stage (built once)."""

    __slots__ = ("after_upstream", "header_sources", "policies", "pre_auth", "write_guards")

    def __init__(self, policies: Sequence[ProxyPolicy] = ()) -> None:
        self.policies = tuple(policies)
        self.pre_auth = tuple(p.pre_auth for p in self.policies if _overrides(p, "pre_auth"))
        self.write_guards = tuple(p.guard_write for p in self.policies if _overrides(p, "guard_write"))
        self.header_sources: tuple[HeaderSource, ...] = tuple(
            p.response_headers for p in self.policies if _overrides(p, "response_headers")
        )
        self.after_upstream = tuple(
            p.after_upstream for p in self.policies if _overrides(p, "after_upstream")
        )
