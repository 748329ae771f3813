"""Time: UTC nanoseconds since the Unix epoch, and the injected clock.

Event time (when something was measured or happened) and processing time (when a
node handled it) are both UTC integer nanoseconds. Latency is measured with the
monotonic reading of the same clock, so a test's fake clock drives both.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, date, datetime
from typing import Final, Protocol

NS_PER_S: Final = 1_000_000_000

_ISO_UTC: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:[.,]([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


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


def iso_to_utc_ns(text: str) -> int:
    """An ISO 8601 / RFC 3339 date and time with its zone to UTC ns.

    ``2026-11-24T00:10:05.123456Z``; any offset (``+09:00``) is taken and converted;
    up to nine fractional digits (nanoseconds) are kept. A time without a zone, a
    leap second (``:60``) and impossible dates are refused.

    Raises:
        ValueError: `text` is not such a time.
    """
    match = _ISO_UTC.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 date and time with a zone: {text[:40]!r}")
    hour, minute, second = (int(g) for g in match.groups()[3:6])
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"no such time of day: {text[:40]!r}")
    fraction, zone = match.group(7) or "", match.group(8)
    offset_s = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"impossible zone offset {zone}")
        offset_s = sign * (hours * 3600 + minutes * 60)
    days = _days_since_1970(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s
    return seconds * NS_PER_S + int(fraction.ljust(9, "0"))


@functools.lru_cache(maxsize=256)
def _days_since_1970(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar (checked)."""
    return date(year, month, day).toordinal() - _ORDINAL_1970


_ORDINAL_1970: Final = date(1970, 1, 1).toordinal()
