"""JSON shapes of the size-tracking routes, as published in the API document."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

__all__ = ["PrefixQuery", "PrefixSizeView", "SizeTrackingSwitch", "SizeTrackingView"]


class SizeTrackingSwitch(TypedDict):
    """Turn a bucket's size tracking on or off."""

    enabled: bool


class SizeTrackingView(TypedDict):
    """A bucket's size-tracking switch; ``updated_*`` only once an admin has set it."""

    enabled: bool
    updated_at: NotRequired[str]
    updated_by: NotRequired[str]


class PrefixQuery(TypedDict, total=False):
    """``prefix``: count the objects whose keys start with it (absent or empty: the whole bucket)."""

    prefix: str


class PrefixSizeView(TypedDict):
    """What lies under a prefix, as of ``computed_at`` (answers are reused for 60 s)."""

    bytes: int
    count: int
    prefix: str
    computed_at: str
