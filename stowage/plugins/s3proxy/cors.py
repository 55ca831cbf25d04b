"""Per-bucket CORS on the proxy: rule validation (CORS-1), preflight answers (CORS-2) and the
headers added to actual responses (CORS-3).

Rules live in Stowage (``s3_bucket_cors``), never upstream (§6 decision 26). Bucket names match
case-insensitively and same-named buckets on different backends have their rules unioned. A
preflight that matches no rule falls through to normal handling (which then fails auth).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stowage.core.kernel.errors import BadRequest

if TYPE_CHECKING:
    from stowage.plugins.s3proxy.app import ProxyApp, ProxyRequest, Receive, Send
    from stowage.plugins.s3proxy.policycache import PolicyCache

__all__ = [
    "ALLOWED_METHODS",
    "DEFAULT_ALLOWED_HEADERS",
    "DEFAULT_EXPOSE_HEADERS",
    "CorsRule",
    "cors_response_headers",
    "preflight_handler",
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
    """The CORS-1 checks; returns normalised rules or raises 400 ``invalid_cors`` "rule i: …"."""
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


def preflight_handler(cache: PolicyCache) -> Any:
    """The CORS-2 pre-auth handler: answer matching preflights with 204, no auth and no audit."""

    async def handle(app: ProxyApp, req: ProxyRequest, receive: Receive, send: Send) -> bool:
        requested = req.hmap.get(b"access-control-request-method")
        if req.method != "OPTIONS" or requested is None or not req.bucket:
            return False
        origin = req.hmap.get(b"origin", b"").decode("latin-1")
        method = requested.decode("latin-1").strip().upper()
        for rule in cache.cors_rules(req.bucket):
            allowed = rule.allow_origin(origin)
            if allowed is None or method not in rule.allowed_methods:
                continue
            assert req.classified is not None
            req.classified = dataclasses.replace(req.classified, operation="CORSPreflight")
            req.auth_mode = "cors"
            req.scope["stowage.skip_audit"] = True
            headers = [
                (b"access-control-allow-origin", allowed.encode("latin-1")),
                (b"access-control-allow-methods", ", ".join(rule.allowed_methods).encode()),
                (
                    b"access-control-allow-headers",
                    (", ".join(rule.allowed_headers) or DEFAULT_ALLOWED_HEADERS).encode("latin-1"),
                ),
                (b"access-control-max-age", str(_max_age(rule)).encode()),
                (b"vary", _VARY_PREFLIGHT),
                (b"content-length", b"0"),
                (b"x-amz-request-id", req.request_id.encode()),
            ]
            req.status = 204
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        return False

    return handle


def _max_age(rule: CorsRule) -> int:
    return rule.max_age_seconds if rule.max_age_seconds is not None else DEFAULT_MAX_AGE


def cors_response_headers(cache: PolicyCache) -> Any:
    """The CORS-3 provider: headers for actual responses whose Origin matches a rule of the bucket."""

    def provide(req: ProxyRequest) -> list[tuple[bytes, bytes]]:
        raw_origin = req.hmap.get(b"origin")
        if raw_origin is None or not req.bucket or req.auth_mode == "cors":
            return []
        origin = raw_origin.decode("latin-1")
        for rule in cache.cors_rules(req.bucket):
            allowed = rule.allow_origin(origin)
            if allowed is not None:
                expose = ", ".join(rule.expose_headers) or DEFAULT_EXPOSE_HEADERS
                return [
                    (b"access-control-allow-origin", allowed.encode("latin-1")),
                    (b"access-control-expose-headers", expose.encode("latin-1")),
                    (b"vary", b"Origin"),
                ]
        return []

    return provide
