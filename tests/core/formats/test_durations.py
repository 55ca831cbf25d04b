"""Go-style durations: the strings the original accepts, integers as seconds, and errors."""

from __future__ import annotations

import pytest

from stowage.core.formats.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("15m", 900.0),
        ("8h", 28800.0),
        ("1h30m", 5400.0),
        ("-1m", -60.0),
        ("250ms", 0.25),
        ("1.5h", 5400.0),
        ("0", 0.0),
        ("-0", 0.0),
        ("+5s", 5.0),
        ("2h45m30s", 9930.0),
        ("1m30.5s", 90.5),
        (".5s", 0.5),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),
        ("2000000ns", 0.002),
        ("  10s  ", 10.0),
    ],
)
def test_go_duration_strings(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("value", "seconds"), [(10, 10.0), (0, 0.0), (-5, -5.0), (1.5, 1.5), ("30", 30.0)])
def test_numbers_are_seconds(value: object, seconds: float) -> None:
    result = parse_duration(value)
    assert result == seconds
    assert isinstance(result, float)


@pytest.mark.parametrize(
    "text",
    ["", " ", "s", "h", "-", "+", "10x", "10S", "1h 30m", "1h-30m", "1.2.3s", "1e3s", "inf", "nan", "ten"],
)
def test_invalid_strings_raise_value_error_naming_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration") as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("value", [None, True, False, [], {}, b"10s"])
def test_non_duration_types_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)


@pytest.mark.parametrize("text", ["٣s", "１s", "١٠m"])
def test_non_ascii_digits_are_rejected(text: str) -> None:
    # Go's time.ParseDuration only accepts ASCII digits; so must we.
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (10, "10s"),
        (900, "15m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (28800, "8h"),
        (90061, "25h1m1s"),
        (0.25, "250ms"),
        (1.5, "1.5s"),
        (-60, "-1m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "seconds", [0, 1, 10, 59, 60, 61, 900, 3599, 3600, 5400, 86400, 90061, 0.25, 1.5, -60, -5400]
)
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10s", "15m", "8h", "1h30m", "-1m", "250ms", "1h0m0.5s"])
def test_parse_then_format_round_trips(text: str) -> None:
    seconds = parse_duration(text)
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize("seconds", [0.0005, 0.0015])
def test_format_duration_sub_millisecond_is_not_lossy(seconds: float) -> None:
    # 0.0005 s is rendered as "0ms" today, which parses back as 0; Go renders "500µs".
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
