"""JSON shapes of the bucket quota routes, as published in the API document."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

__all__ = ["QuotaLimits", "QuotaView"]


class QuotaLimits(TypedDict, total=False):
    """Byte limits; 0 (or absent) means no limit of that kind."""

    soft_bytes: int
    hard_bytes: int


class QuotaView(TypedDict):
    """A bucket's quota and tracked usage; empty optional fields are left out."""

    configured: bool
    has_usage: bool
    soft_bytes: NotRequired[int]
    hard_bytes: NotRequired[int]
    updated_at: NotRequired[str]
    updated_by: NotRequired[str]
    usage_bytes: NotRequired[int]
    object_count: NotRequired[int]
    computed_at: NotRequired[str]
