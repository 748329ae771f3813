"""ISO 8601 times with their zone to UTC nanoseconds (`model.time.iso_to_utc_ns`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warnlink.model.time import NS_PER_S, datetime_to_utc_ns, iso_to_utc_ns, utc_ns_to_iso

T: int = datetime_to_utc_ns(datetime(2026, 11, 24, 0, 10, 5, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-11-24T00:10:05Z", T),
        ("2026-11-24t00:10:05z", T),
        ("2026-11-24T00:10:05.5Z", T + 500_000_000),
        ("2026-11-24T00:10:05.123456789Z", T + 123_456_789),
        ("2026-11-24T00:10:05,25Z", T + 250_000_000),
        ("2026-11-24T09:10:05+09:00", T),
        ("2026-11-23T19:40:05-04:30", T),
        ("2026-11-24T00:10:05+00:00", T),
    ],
)
def test_times_with_a_zone_are_read_to_the_nanosecond(text: str, ns: int) -> None:
    assert iso_to_utc_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24T00:10:05",  # no zone: local to whom?
        "2026-11-24 00:10:05Z",
        "2026-11-24T00:10:60Z",  # leap second
        "2026-02-29T00:00:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T00:10:05.1234567890Z",
        "2026-11-24T00:10:05+24:00",
        "2026-11-24",
        "",
        " 2026-11-24T00:10:05Z",
        "\uff12026-11-24T00:10:05Z",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the message is for people)
        iso_to_utc_ns(text)


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)))
def test_agrees_with_the_standard_library(moment: datetime) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(hours=-7)))
    assert iso_to_utc_ns(aware.isoformat()) == datetime_to_utc_ns(aware)


def test_round_trips_the_microsecond_form() -> None:
    assert iso_to_utc_ns(utc_ns_to_iso(T + 123_456_000)) == T + 123_456_000
    assert T % NS_PER_S == 0
