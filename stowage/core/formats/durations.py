"""Go-style duration strings (``10s``, ``1h30m``, ``-1m``, ``250ms``) parsed to seconds."""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?")


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; accepts Go duration strings and plain numbers (seconds).

    Raises ``ValueError`` with a message fit for a configuration error.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration like 10s, 15m or 1h30m")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 10s, 15m or 1h30m")
    text = value.strip()
    sign = 1.0
    if text[:1] in "+-" and text:
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if _NUMBER.fullmatch(text):
        return sign * float(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {value!r} (use Go syntax such as 10s, 15m, 1h30m)")
    return sign * total


def format_duration(seconds: float) -> str:
    """Render seconds as a compact Go-style duration (``1h30m``, ``10s``, ``250ms``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    if rest < 1e-3:
        return f"{sign}{rest * 1e6:g}µs"
    if rest < 1:
        return f"{sign}{rest * 1000:g}ms"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if minutes:
        out += f"{int(minutes)}m"
    if secs:
        out += f"{secs:g}s"
    return sign + out
