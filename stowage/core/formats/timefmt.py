"""Timestamp text formats: the one canonical UTC form stored in the database, and RFC 3339 for the API.

Stored form, written by :func:`format_ts`::

    2026-04-26 02:06:35.123456000+00:00

Fixed width, always UTC, always nine fractional digits, so plain string comparison in SQL
(``expires_at < ?``, ``ORDER BY ts DESC``) orders exactly as time does. Python keeps
microseconds, so the last three digits are always ``000``.

:func:`parse_ts` also reads what the original's Go driver wrote (the same shape with trailing
fractional zeros trimmed, or no fraction at all), SQLite's ``CURRENT_TIMESTAMP``
(``2026-04-26 02:06:35``, taken as UTC), a ``T`` separator, ``Z`` and other offsets.
Mixed old and canonical values still compare correctly as text, except that equal instants
written in the two forms are not equal strings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_ts", "parse_rfc3339", "parse_ts", "to_rfc3339", "utcnow"]

_STORED = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    # Go's time.String() puts a space before the offset and a zone abbreviation after ("+0000 UTC").
    r"(?:\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})?(?:\s+[A-Z]{1,5})?))?"
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_ts(dt: datetime) -> str:
    """Write ``dt`` in the canonical stored form; naive datetimes are refused (ValueError)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"format_ts needs an aware datetime, got naive {dt!r}")
    u = dt.astimezone(UTC)
    # Built by hand: strftime's %Y does not zero-pad years below 1000 on every platform.
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d} {u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond * 1000:09d}+00:00"
    )


def parse_ts(text: str) -> datetime:
    """Read a stored timestamp in any form described in the module docstring; returns aware UTC."""
    m = _STORED.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"unrecognised timestamp {text!r}")
    year, month, day, hour, minute, second, frac, _zulu, sign, oh, om = m.groups()
    offset = _offset(sign, oh, om) if sign else timedelta(0)
    return _build(year, month, day, hour, minute, second, frac, offset, text)


def to_rfc3339(dt: datetime) -> str:
    """Format for API output as Go's RFC3339Nano does: UTC ``Z``, fraction without trailing zeros."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"to_rfc3339 needs an aware datetime, got naive {dt!r}")
    u = dt.astimezone(UTC)
    base = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        base += "." + f"{u.microsecond:06d}".rstrip("0")
    return base + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse strict RFC 3339 (``T`` separator, ``Z`` or ``±HH:MM`` required); returns aware UTC.

    Fractions beyond microseconds are truncated. Raises ValueError on anything else, including
    SQL-style spaces and missing offsets, as Go's ``time.Parse(time.RFC3339, …)`` does.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, frac, _zulu, sign, oh, om = m.groups()
    offset = _offset(sign, oh, om) if sign else timedelta(0)
    return _build(year, month, day, hour, minute, second, frac, offset, text)


def _offset(sign: str, hours: str, minutes: str | None) -> timedelta:
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        raise ValueError(f"UTC offset out of range: {sign}{hours}:{minutes or '00'}")
    return -delta if sign == "-" else delta


def _build(
    year: str,
    month: str,
    day: str,
    hour: str,
    minute: str,
    second: str,
    frac: str | None,
    offset: timedelta,
    text: str,
) -> datetime:
    # Truncate (never round) nanoseconds to microseconds so parsing never moves a value forward.
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micro,
            tzinfo=timezone(offset),
        ).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid timestamp {text!r}: {exc}") from None
    return local
