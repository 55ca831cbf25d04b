"""Per-bucket CORS on the proxy: rule validation, preflight answers and the headers added to actual
responses (``CorsPolicy``).

Rules live in Stowage (``s3_bucket_cors``), never upstream: the upstream's own CORS configuration
is the operator's, not a tenant's. Bucket names match
case-insensitively and same-named buckets on different backends have their rules unioned. A
preflight that matches no rule falls through to normal handling (which then fails auth).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stowage.core.kernel.errors import BadRequest
from stowage.plugins.s3proxy.policy import ProxyPolicy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from stowage.plugins.s3proxy.policycache import PolicyCache
    from stowage.plugins.s3proxy.request import ProxyRequest, Receive
    from stowage.plugins.s3proxy.responder import Responder

__all__ = [
    "ALLOWED_METHODS",
    "DEFAULT_ALLOWED_HEADERS",
    "DEFAULT_EXPOSE_HEADERS",
    "CorsPolicy",
    "CorsRule",
    "validate_rules",
]

ALLOWED_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
DEFAULT_MAX_AGE = 600
DEFAULT_ALLOWED_HEADERS = (
    "Authorization, Content-Type, Content-Disposition, Content-Encoding, Cache-Control, Expires, "
    "x-amz-date, x-amz-content-sha256, x-amz-security-token, x-amz-user-agent, x-amz-acl, "
    "x-amz-storage-class, x-amz-server-side-encryption, x-amz-tagging, x-amz-meta-*"
)
DEFAULT_EXPOSE_HEADERS = "ETag, x-amz-version-id, x-amz-request-id"
_VARY_PREFLIGHT = b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


@dataclass(frozen=True, slots=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CorsRule:
        """Build from a stored (already validated) rule; unknown keys are ignored."""
        max_age = data.get("max_age_seconds")
        return cls(
            tuple(data.get("allowed_origins") or ()),
            tuple(m.upper() for m in data.get("allowed_methods") or ()),
            tuple(data.get("allowed_headers") or ()),
            tuple(data.get("expose_headers") or ()),
            int(max_age) if isinstance(max_age, int) else None,
        )

    def allow_origin(self, origin: str) -> str | None:
        """``*`` or the echoed origin when ``origin`` is allowed, else None."""
        if "*" in self.allowed_origins:
            return "*"
        return origin if origin in self.allowed_origins else None


def _strings(rule: dict[str, Any], name: str, index: int, required: bool) -> list[str]:
    value = rule.get(name)
    if value is None or value == []:
        if required:
            raise BadRequest(f"rule {index}: {name} is required", code="invalid_cors")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadRequest(f"rule {index}: {name} must be a list of strings", code="invalid_cors")
    return value


def validate_rules(value: Any) -> list[dict[str, Any]]:
    """Check rules the API received; returns them normalised or raises 400 ``invalid_cors`` "rule i: …"."""
    if not isinstance(value, list):
        raise BadRequest("rules must be a list", code="invalid_cors")
    out: list[dict[str, Any]] = []
    for index, rule in enumerate(value):
        if not isinstance(rule, dict):
            raise BadRequest(f"rule {index}: must be an object", code="invalid_cors")
        origins = _strings(rule, "allowed_origins", index, True)
        methods = [m.upper() for m in _strings(rule, "allowed_methods", index, True)]
        bad = [m for m in methods if m not in ALLOWED_METHODS]
        if bad:
            raise BadRequest(f"rule {index}: unsupported method {bad[0]}", code="invalid_cors")
        normalised: dict[str, Any] = {"allowed_origins": origins, "allowed_methods": methods}
        for name in ("allowed_headers", "expose_headers"):
            items = _strings(rule, name, index, False)
            if items:
                normalised[name] = items
        max_age = rule.get("max_age_seconds")
        if max_age is not None:
            if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
                raise BadRequest(f"rule {index}: max_age_seconds must be >= 0", code="invalid_cors")
            normalised["max_age_seconds"] = max_age
        out.append(normalised)
    return out


class CorsPolicy(ProxyPolicy):
    """Answers matching preflights before auth (204, no audit) and adds CORS headers to actual responses."""

    def __init__(self, cache: PolicyCache) -> None:
        self.cache = cache

    async def pre_auth(self, req: ProxyRequest, receive: Receive, responder: Responder) -> bool:
        """A preflight matching a rule of the bucket is answered here; others fall through (and fail auth)."""
        requested = req.headers_by_name.get(b"access-control-request-method")
        if req.method != "OPTIONS" or requested is None or not req.bucket:
            return False
        origin = req.headers_by_name.get(b"origin", b"").decode("latin-1")
        method = requested.decode("latin-1").strip().upper()
        for rule in self.cache.cors_rules(req.bucket):
            allowed = rule.allow_origin(origin)
            if allowed is None or method not in rule.allowed_methods:
                continue
            assert req.classified is not None
            req.classified = dataclasses.replace(req.classified, operation="CORSPreflight")
            req.auth_mode = "cors"
            req.skip_audit = True
            headers = [
                (b"access-control-allow-origin", allowed.encode("latin-1")),
                (b"access-control-allow-methods", ", ".join(rule.allowed_methods).encode()),
                (
                    b"access-control-allow-headers",
                    (", ".join(rule.allowed_headers) or DEFAULT_ALLOWED_HEADERS).encode("latin-1"),
                ),
                (b"access-control-max-age", str(_max_age(rule)).encode()),
                (b"vary", _VARY_PREFLIGHT),
            ]
            await responder.send_simple(204, b"", content_type=None, headers=headers)
            return True
        return False

    def response_headers(self, req: ProxyRequest) -> Sequence[tuple[bytes, bytes]]:
        """Headers for actual responses whose Origin matches a rule of the bucket."""
        raw_origin = req.headers_by_name.get(b"origin")
        if raw_origin is None or not req.bucket or req.auth_mode == "cors":
            return ()
        origin = raw_origin.decode("latin-1")
        for rule in self.cache.cors_rules(req.bucket):
            allowed = rule.allow_origin(origin)
            if allowed is not None:
                expose = ", ".join(rule.expose_headers) or DEFAULT_EXPOSE_HEADERS
                return (
                    (b"access-control-allow-origin", allowed.encode("latin-1")),
                    (b"access-control-expose-headers", expose.encode("latin-1")),
                    (b"vary", b"Origin"),
                )
        return ()


def _max_age(rule: CorsRule) -> int:
    return rule.max_age_seconds if rule.max_age_seconds is not None else DEFAULT_MAX_AGE
