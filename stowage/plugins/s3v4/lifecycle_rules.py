"""Lifecycle rules between the API's flat shape (``LifecycleRule``) and S3's nested one.

S3 can say more than the API's shape holds (date-based expiry, tag filters, several transitions);
reading keeps what fits: the prefix of a ``Filter`` (plain, or inside ``And``, or the legacy
top-level ``Prefix``), day counts, and the first day-based transition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stowage.core.contracts.driver import LifecycleRule

__all__ = ["rule_from_s3", "rule_to_s3"]


def rule_to_s3(rule: LifecycleRule) -> dict[str, Any]:
    """The ``Rules`` entry of ``PutBucketLifecycleConfiguration`` for ``rule``."""
    out: dict[str, Any] = {
        "Status": "Enabled" if rule.enabled else "Disabled",
        "Filter": {"Prefix": rule.prefix},
    }
    if rule.id:
        out["ID"] = rule.id
    if rule.expiration_days is not None:
        out["Expiration"] = {"Days": rule.expiration_days}
    if rule.noncurrent_expire_days is not None:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule.noncurrent_expire_days}
    if rule.abort_incomplete_days is not None:
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule.abort_incomplete_days}
    if rule.transition_days is not None:
        out["Transitions"] = [{"Days": rule.transition_days, "StorageClass": rule.transition_storage_class}]
    return out


def _days(section: Any, name: str) -> int | None:
    value = section.get(name) if isinstance(section, Mapping) else None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _prefix(rule: Mapping[str, Any]) -> str:
    found = rule.get("Filter")
    if isinstance(found, Mapping):
        if isinstance(found.get("Prefix"), str):
            return str(found["Prefix"])
        both = found.get("And")
        if isinstance(both, Mapping) and isinstance(both.get("Prefix"), str):
            return str(both["Prefix"])
        return ""
    return str(rule.get("Prefix") or "")


def rule_from_s3(rule: Mapping[str, Any]) -> LifecycleRule:
    """A ``LifecycleRule`` from one entry of ``GetBucketLifecycleConfiguration``'s ``Rules``."""
    transition: Mapping[str, Any] = next(
        (t for t in rule.get("Transitions") or () if _days(t, "Days") is not None),
        {},
    )
    return LifecycleRule(
        id=str(rule.get("ID") or ""),
        prefix=_prefix(rule),
        enabled=rule.get("Status") == "Enabled",
        expiration_days=_days(rule.get("Expiration"), "Days"),
        noncurrent_expire_days=_days(rule.get("NoncurrentVersionExpiration"), "NoncurrentDays"),
        abort_incomplete_days=_days(rule.get("AbortIncompleteMultipartUpload"), "DaysAfterInitiation"),
        transition_days=_days(transition, "Days"),
        transition_storage_class=str(transition.get("StorageClass") or "") if transition else "",
    )
