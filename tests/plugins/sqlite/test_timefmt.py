"""The canonical stored timestamp form, the Go forms it must read, and RFC 3339 for the API."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from stowage.core.formats.timefmt import format_ts, parse_rfc3339, parse_ts, to_rfc3339, utcnow

T = datetime(2026, 4, 26, 2, 6, 35, 123456, tzinfo=UTC)


def _random_instants(n: int, seed: int = 7) -> list[datetime]:
    rng = random.Random(seed)
    start = datetime(1970, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        dt = start + timedelta(seconds=rng.randrange(0, 200 * 365 * 86400), microseconds=rng.randrange(10**6))
        # Same instant expressed in a random offset: the stored form must not depend on it.
        out.append(dt.astimezone(timezone(timedelta(minutes=rng.randrange(-12 * 60, 14 * 60 + 1, 15)))))
    return out


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.utcoffset() == timedelta(0)


def test_format_is_fixed_width_utc_with_nine_digits() -> None:
    assert format_ts(T) == "2026-04-26 02:06:35.123456000+00:00"
    assert format_ts(T.replace(microsecond=0)) == "2026-04-26 02:06:35.000000000+00:00"
    plus_two = T.astimezone(timezone(timedelta(hours=2)))
    assert format_ts(plus_two) == "2026-04-26 02:06:35.123456000+00:00"
    assert format_ts(datetime(5, 1, 2, tzinfo=UTC)) == "0005-01-02 00:00:00.000000000+00:00"


def test_format_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_ts(datetime(2026, 1, 1))  # noqa: DTZ001


def test_round_trip_and_lexicographic_order() -> None:
    instants = _random_instants(2000)
    texts = [format_ts(dt) for dt in instants]
    assert {len(t) for t in texts} == {len("2026-04-26 02:06:35.123456000+00:00")}
    assert [parse_ts(t) for t in texts] == instants
    assert sorted(texts) == [format_ts(dt) for dt in sorted(instants)]


def test_sqlite_orders_and_compares_as_text() -> None:
    instants = _random_instants(300, seed=11)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (ts TIMESTAMP NOT NULL)")
    conn.executemany("INSERT INTO t VALUES (?)", [(format_ts(dt),) for dt in instants])
    ordered = [parse_ts(r[0]) for r in conn.execute("SELECT ts FROM t ORDER BY ts DESC")]
    assert ordered == sorted(instants, reverse=True)
    pivot = sorted(instants)[100]
    (n,) = conn.execute("SELECT count(*) FROM t WHERE ts < ?", (format_ts(pivot),)).fetchone()
    assert n == 100
    conn.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What the original's Go driver writes: trailing fractional zeros trimmed, nanoseconds.
        ("2026-04-26 02:06:35.123456789+00:00", T),
        ("2026-04-26 02:06:35.5+00:00", T.replace(microsecond=500000)),
        ("2026-04-26 02:06:35+00:00", T.replace(microsecond=0)),
        # SQLite CURRENT_TIMESTAMP (schema_migrations.applied_at default): UTC, no offset.
        ("2026-04-26 02:06:35", T.replace(microsecond=0)),
        ("2026-04-26T02:06:35Z", T.replace(microsecond=0)),
        ("2026-04-26T02:06:35.123456Z", T),
        ("2026-04-26 04:06:35.123456+02:00", T),
        ("2026-04-25 21:06:35.123456-05:00", T),
        ("2026-04-26 07:36:35.123456+0530", T),
        # Go's time.String() form.
        ("2026-04-26 02:06:35.123456789 +0000 UTC", T),
        ("2026-04-26 02:06:35.123456000+00:00", T),
    ],
)
def test_parse_reads_go_and_sqlite_forms(text: str, expected: datetime) -> None:
    got = parse_ts(text)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-04-26",
        "2026-13-01 00:00:00",
        "2026-04-26 25:00:00",
        "2026-04-26 02:06:35.+00:00",
        "2026-04-26 02:06:35+25:00",
        "2026-04-26 02:06:35 PST",
    ],
)
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ts(text)


def test_mixed_go_and_canonical_text_orders_like_time() -> None:
    """Old rows (Go form) and new rows (canonical form) share columns; comparisons must hold."""
    rng = random.Random(3)
    base = datetime(2026, 4, 26, 2, 6, 35, tzinfo=UTC)
    values = []
    for _ in range(400):
        dt = base + timedelta(
            seconds=rng.randrange(3), microseconds=rng.choice([0, 500000, 120000, rng.randrange(10**6)])
        )
        go = (
            dt.strftime("%Y-%m-%d %H:%M:%S")
            + (f".{dt.microsecond:06d}".rstrip("0") if dt.microsecond else "")
            + "+00:00"
        )
        values.append((dt, go))
        values.append((dt, format_ts(dt)))
    for (a, ta), (b, tb) in zip(values, values[1:] + values[:1]):
        if a != b:
            assert (ta < tb) == (a < b), (ta, tb)


def test_to_rfc3339_matches_go_rfc3339nano() -> None:
    assert to_rfc3339(T.replace(microsecond=0)) == "2026-04-26T02:06:35Z"
    assert to_rfc3339(T) == "2026-04-26T02:06:35.123456Z"
    assert to_rfc3339(T.replace(microsecond=120000)) == "2026-04-26T02:06:35.12Z"
    assert to_rfc3339(T.astimezone(timezone(timedelta(hours=-7)))) == "2026-04-26T02:06:35.123456Z"
    with pytest.raises(ValueError):
        to_rfc3339(datetime(2026, 1, 1))  # noqa: DTZ001


def test_parse_rfc3339() -> None:
    assert parse_rfc3339("2026-04-26T02:06:35Z") == T.replace(microsecond=0)
    assert parse_rfc3339("2026-04-26T02:06:35.123456789Z") == T
    assert parse_rfc3339("2026-04-26T04:06:35.123456+02:00") == T
    assert parse_rfc3339(to_rfc3339(T)) == T
    for bad in ("2026-04-26 02:06:35Z", "2026-04-26T02:06:35", "2026-04-26T02:06:35+0200", "2026-04-26", "x"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)
