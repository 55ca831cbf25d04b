"""``TrafficTally``: the ``TrafficTap`` both listeners report finished requests to.

It keeps what Prometheus does not (bucket names would make its label sets unbounded):

* per-bucket counts in five-minute slots for the last hour, at most ``MAX_BUCKETS_PER_SLOT``
  distinct buckets per slot (a flood of made-up names cannot grow memory; requests past the cap
  still count everywhere else);
* requests and 5xx errors per hour, and per backend, for the last day;
* the last ``RECENT_ERRORS`` 5xx answers.

``observe`` is a few dictionary updates: it runs on the proxy's hot path.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stowage.core.contracts.overview import BucketTraffic, HourCount, RecentError, RequestRecord

__all__ = ["MAX_BUCKETS_PER_SLOT", "RECENT_ERRORS", "SLOT_SECONDS", "TrafficTally"]

SLOT_SECONDS = 300
MAX_BUCKETS_PER_SLOT = 512
RECENT_ERRORS = 50
MAX_PATH = 200
HOURS = 24

BucketKey = tuple[str, str]


@dataclass
class _Hour:
    requests: int = 0
    errors: int = 0
    by_backend: dict[str, int] = field(default_factory=dict)


class TrafficTally:
    """Implements ``stowage.core.contracts.overview.TrafficTap``; read by the overview service."""

    def __init__(self, known_backend: Callable[[str], bool], clock: Callable[[], float] = time.time) -> None:
        self._known_backend = known_backend
        self._clock = clock
        self._slots: deque[tuple[int, dict[BucketKey, list[int]]]] = deque()
        self._hours: dict[int, _Hour] = {}
        self._errors: deque[RecentError] = deque(maxlen=RECENT_ERRORS)
        self.api_bytes_in = 0
        """Dashboard request bytes since start-up (no Prometheus metric counts them)."""

    def observe(self, record: RequestRecord) -> None:
        now = self._clock()
        error = record.status >= 500
        # A backend id comes from a path or a credential: count only ids the registry knows.
        backend = record.backend if record.backend and self._known_backend(record.backend) else ""
        if record.listener == "api":
            self.api_bytes_in += record.bytes_in
        hour = self._hour(int(now // 3600))
        hour.requests += 1
        hour.errors += error
        if backend:
            hour.by_backend[backend] = hour.by_backend.get(backend, 0) + 1
            if record.bucket:
                self._count_bucket(now, (backend, record.bucket), record, error)
        if error:
            self._errors.appendleft(
                RecentError(
                    when=datetime.fromtimestamp(now, UTC),
                    listener=record.listener,
                    method=record.method,
                    path=record.path[:MAX_PATH],
                    status=record.status,
                    user_id=record.user_id,
                    backend=backend,
                )
            )

    def _hour(self, unix_hour: int) -> _Hour:
        hour = self._hours.get(unix_hour)
        if hour is None:
            hour = self._hours[unix_hour] = _Hour()
            for old in [h for h in self._hours if h <= unix_hour - HOURS]:
                del self._hours[old]
        return hour

    def _count_bucket(self, now: float, key: BucketKey, record: RequestRecord, error: bool) -> None:
        start = int(now // SLOT_SECONDS) * SLOT_SECONDS
        if not self._slots or self._slots[-1][0] != start:
            self._slots.append((start, {}))
            while self._slots[0][0] <= start - 3600:
                self._slots.popleft()
        counts = self._slots[-1][1]
        row = counts.get(key)
        if row is None:
            if len(counts) >= MAX_BUCKETS_PER_SLOT:
                return
            row = counts[key] = [0, 0, 0, 0]
        row[0] += 1
        row[1] += error
        row[2] += record.bytes_in
        row[3] += record.bytes_out

    # --- reading ------------------------------------------------------------------------------

    def top_buckets(self, now: float, limit: int = 10) -> list[BucketTraffic]:
        """The busiest buckets (by requests, then bytes) in the slots overlapping the last hour."""
        totals: dict[BucketKey, list[int]] = {}
        for start, counts in self._slots:
            if start + SLOT_SECONDS <= now - 3600:
                continue
            for key, row in counts.items():
                total = totals.setdefault(key, [0, 0, 0, 0])
                for index, value in enumerate(row):
                    total[index] += value
        ranked = sorted(totals.items(), key=lambda item: (-item[1][0], -(item[1][2] + item[1][3]), item[0]))
        return [BucketTraffic(key[0], key[1], *row) for key, row in ranked[:limit]]

    def hourly(self, now: float) -> list[HourCount]:
        """The last 24 hours, oldest first, the current hour last; hours without traffic are 0."""
        current = int(now // 3600)
        out = []
        for unix_hour in range(current - HOURS + 1, current + 1):
            hour = self._hours.get(unix_hour)
            out.append(
                HourCount(unix_hour, hour.requests, hour.errors) if hour else HourCount(unix_hour, 0, 0)
            )
        return out

    def by_backend(self, now: float) -> dict[str, int]:
        """Requests per backend over the last 24 hours."""
        current = int(now // 3600)
        totals: dict[str, int] = {}
        for unix_hour, hour in self._hours.items():
            if unix_hour > current - HOURS:
                for backend, count in hour.by_backend.items():
                    totals[backend] = totals.get(backend, 0) + count
        return dict(sorted(totals.items()))

    def recent_errors(self) -> list[RecentError]:
        """The latest 5xx answers, newest first."""
        return list(self._errors)
