"""Time: UTC nanoseconds since the Unix epoch, and the injected clock.

Event time (when something was measured or happened) and processing time (when a
node handled it) are both UTC integer nanoseconds. Latency is measured with the
monotonic reading of the same clock, so a test's fake clock drives both.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final, Protocol

NS_PER_S: Final = 1_000_000_000


class Clock(Protocol):
    """Where a node reads the time; injected so tests and simulations control it."""

    def now_ns(self) -> int:
        """UTC now, integer nanoseconds since the Unix epoch."""
        ...

    def monotonic_ns(self) -> int:
        """A monotonic reading for measuring intervals, nanoseconds."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class ManualClock:
    """A clock that moves only when told to: for tests and accelerated simulation."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns
        self._start_ns = start_ns

    def now_ns(self) -> int:
        return self._now_ns

    def monotonic_ns(self) -> int:
        return self._now_ns - self._start_ns

    def set_ns(self, now_ns: int) -> None:
        """Move to `now_ns`; time never runs backwards."""
        if now_ns < self._now_ns:
            raise ValueError(f"clock cannot run backwards: {now_ns} < {self._now_ns}")
        self._now_ns = now_ns

    def advance_s(self, seconds: float) -> None:
        self.set_ns(self._now_ns + round(seconds * NS_PER_S))


def utc_ns_to_iso(utc_ns: int) -> str:
    """ISO 8601 UTC with microseconds and a Z, e.g. ``2017-07-04T00:40:00.000000Z``."""
    dt = datetime.fromtimestamp(utc_ns // NS_PER_S, tz=UTC)
    micros = (utc_ns % NS_PER_S) // 1000
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def datetime_to_utc_ns(dt: datetime) -> int:
    """A timezone-aware datetime to UTC ns; naive datetimes are refused."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give a timezone (UTC)")
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000
