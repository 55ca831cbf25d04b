"""POST Object policies: decoding the base64 JSON document and enforcing its conditions on the form fields."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stowage.core.formats.timefmt import parse_rfc3339
from stowage.plugins.s3proxy.s3errors import AccessDenied, MalformedPOSTRequest

__all__ = ["DEFAULT_MAX_SIZE", "IGNORED_FIELDS", "POLICY_LIMIT", "PostPolicy", "parse_policy"]

POLICY_LIMIT = 64 * 1024
DEFAULT_MAX_SIZE = 5 * 1024**3
IGNORED_FIELDS = frozenset(
    {
        "policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
        "x-amz-security-token", "file", "awsaccesskeyid", "signature",
    }
)  # fmt: skip
"""Form fields that need no policy condition."""


def _bad(message: str) -> MalformedPOSTRequest:
    return MalformedPOSTRequest(message, result="bad-policy")


def _violation(name: str, message: str) -> AccessDenied:
    return AccessDenied(f'policy violation on "{name}": {message}', result="policy-violation")


@dataclass
class PostPolicy:
    """A decoded policy: ``(op, field, value)`` conditions plus the content-length range."""

    expiration: datetime
    conditions: list[tuple[str, str, str]] = field(default_factory=list)
    min_size: int = 0
    max_size: int = DEFAULT_MAX_SIZE

    def check(self, fields: dict[str, str], bucket: str) -> None:
        """Every condition met and every non-ignored field covered, else 403 ``AccessDenied``."""
        values = {"bucket": bucket, **fields}
        for op, name, expected in self.conditions:
            actual = values.get(name)
            if actual is None:
                raise _violation(name, "field missing from form")
            if op == "eq" and actual != expected:
                raise _violation(name, f"expected {expected!r}")
            if op == "starts-with" and not actual.startswith(expected):
                raise _violation(name, f"must start with {expected!r}")
        covered = {name for _, name, _ in self.conditions}
        for name in sorted(fields):
            if name not in IGNORED_FIELDS and name not in covered:
                raise _violation(name, "field not covered by a policy condition")


def _decode(policy_b64: str) -> Any:
    if len(policy_b64) > POLICY_LIMIT * 2:
        raise _bad("policy too large")
    raw = b""
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(policy_b64.encode("ascii"))
            break
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
    else:
        raise _bad("policy is not base64")
    if len(raw) > POLICY_LIMIT:
        raise _bad("policy too large")
    try:
        return json.loads(raw)
    except ValueError:
        raise _bad("policy is not JSON") from None


def _expiration(text: Any) -> datetime:
    if isinstance(text, str):
        for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        try:
            return parse_rfc3339(text)
        except ValueError:
            pass
    raise _bad("policy expiration is missing or malformed")


def _field_name(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("$"):
        raise _bad("condition field must be a $name string")
    return value[1:].lower()


def _add(policy: PostPolicy, condition: Any) -> None:
    if isinstance(condition, dict) and len(condition) == 1:
        name, value = next(iter(condition.items()))
        policy.conditions.append(("eq", str(name).lower(), str(value)))
        return
    if isinstance(condition, list) and len(condition) == 3 and isinstance(condition[0], str):
        op = condition[0].lower()
        if op in ("eq", "starts-with"):
            policy.conditions.append((op, _field_name(condition[1]), str(condition[2])))
            return
        if op == "content-length-range":
            low, high = condition[1], condition[2]
            if isinstance(low, int) and isinstance(high, int) and 0 <= low <= high:
                policy.min_size, policy.max_size = low, high
                return
    raise _bad(f"unsupported policy condition {condition!r}")


def parse_policy(policy_b64: str, now: float) -> PostPolicy:
    """Decode and validate the policy; 400 ``MalformedPOSTRequest`` or 403 "post policy expired"."""
    document = _decode(policy_b64)
    if not isinstance(document, dict) or not isinstance(document.get("conditions"), list):
        raise _bad("policy must be an object with a conditions list")
    policy = PostPolicy(_expiration(document.get("expiration")))
    if policy.expiration.timestamp() <= now:
        raise AccessDenied("post policy expired", result="policy-expired")
    for condition in document["conditions"]:
        _add(policy, condition)
    return policy
