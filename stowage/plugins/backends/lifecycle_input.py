"""Lifecycle rules in the API's JSON shape: what ``PUT …/lifecycle`` accepts, and what reads show.

A rule is ``{id?, prefix?, enabled?, expiration_days?, noncurrent_expire_days?,
abort_incomplete_days?, transition_days?, transition_storage_class?}``. Each rule needs at least
one action (one of the day counts); a transition needs its storage class and a storage class its
transition; ids are unique. Anything else is 400 ``invalid_lifecycle``, before the upstream sees it.
"""

from __future__ import annotations

import re
from typing import Any

from stowage.core.contracts.driver import LifecycleRule
from stowage.core.kernel.errors import BadRequest

__all__ = ["MAX_RULES", "parse_rules", "rule_json"]

MAX_RULES = 1000  # S3's own limit per bucket
MAX_DAYS = 2**31 - 1  # S3 carries day counts as 32-bit integers
_ACTIONS = ("expiration_days", "noncurrent_expire_days", "abort_incomplete_days", "transition_days")
_STORAGE_CLASS = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_lifecycle")


def _text(rule: dict[str, Any], name: str, where: str, limit: int) -> str:
    value = rule.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise _invalid(f"{where}.{name} must be a string of at most {limit} characters")
    if any(char < " " or char == "\x7f" for char in value):
        raise _invalid(f"{where}.{name} cannot contain control characters")
    return value


def _days(rule: dict[str, Any], name: str, where: str) -> int | None:
    value = rule.get(name)
    if value is None:
        return None
    lowest = 0 if name == "transition_days" else 1  # S3 allows an immediate transition, no 0-day expiry
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= MAX_DAYS:
        raise _invalid(f"{where}.{name} must be a whole number of days from {lowest}")
    return value


def _rule(raw: Any, where: str) -> LifecycleRule:
    if not isinstance(raw, dict):
        raise _invalid(f"{where} must be an object")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _invalid(f"{where}.enabled must be true or false")
    days = {name: _days(raw, name, where) for name in _ACTIONS}
    if all(value is None for value in days.values()):
        raise _invalid(f"{where} needs at least one action: {', '.join(_ACTIONS)}")
    storage_class = _text(raw, "transition_storage_class", where, 64)
    if storage_class and not _STORAGE_CLASS.match(storage_class):
        raise _invalid(f"{where}.transition_storage_class must be an S3 storage class such as GLACIER")
    if (days["transition_days"] is None) != (not storage_class):
        raise _invalid(f"{where}: transition_days and transition_storage_class go together")
    return LifecycleRule(
        id=_text(raw, "id", where, 255),
        prefix=_text(raw, "prefix", where, 1024),
        enabled=enabled,
        expiration_days=days["expiration_days"],
        noncurrent_expire_days=days["noncurrent_expire_days"],
        abort_incomplete_days=days["abort_incomplete_days"],
        transition_days=days["transition_days"],
        transition_storage_class=storage_class,
    )


def parse_rules(body: dict[str, Any]) -> list[LifecycleRule]:
    """The rules of a ``PUT …/lifecycle`` body; an empty list removes the configuration."""
    raw = body.get("rules")
    if not isinstance(raw, list):
        raise _invalid("rules must be a list")
    if len(raw) > MAX_RULES:
        raise _invalid(f"at most {MAX_RULES} rules")
    rules = [_rule(item, f"rules[{index}]") for index, item in enumerate(raw)]
    ids = [rule.id for rule in rules if rule.id]
    if len(ids) != len(set(ids)):
        raise _invalid("rule ids must be unique")
    return rules


def rule_json(rule: LifecycleRule) -> dict[str, Any]:
    """The API shape of ``rule``: absent actions and empty texts are left out."""
    out: dict[str, Any] = {"enabled": rule.enabled}
    if rule.id:
        out["id"] = rule.id
    if rule.prefix:
        out["prefix"] = rule.prefix
    for name in _ACTIONS:
        value = getattr(rule, name)
        if value is not None:
            out[name] = value
    if rule.transition_storage_class:
        out["transition_storage_class"] = rule.transition_storage_class
    return out
