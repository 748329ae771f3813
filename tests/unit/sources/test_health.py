"""Each source's health: its records, its rate over the last minute, refusals, silence."""

from __future__ import annotations

import msgspec
import pytest

from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.health import (
    RATE_WINDOW_S,
    HealthTracker,
    SourceHealth,
    SourceState,
    judge,
)
from warnlink.sources.registry import SourceEntry

S = 1_000_000_000
T0 = 1_800_000_000 * S


def _entry(name: str = "radar", *, added_ns: int = T0, interval_s: float = 5.0) -> SourceEntry:
    return SourceEntry(
        name=name,
        party="ROK",
        serial="1f",
        fingerprint="0" * 64,
        added_ns=added_ns,
        interval_s=interval_s,
    )


def _refusal(reason: str) -> Refusal:
    return Refusal(0, "vectors[0].pos", reason, "")


def _only(tracker: HealthTracker, entry: SourceEntry, now_ns: int) -> SourceHealth:
    (health,) = tracker.snapshot([entry], now_ns)
    return health


@pytest.mark.parametrize(
    ("last", "now", "state"),
    [
        (T0, T0 + 10 * S, SourceState.LIVE),  # exactly twice the interval: still live
        (T0, T0 + 10 * S + 1, SourceState.SILENT),
        (None, T0 + 10 * S, SourceState.LIVE),  # never sent, but only just added
        (None, T0 + 11 * S, SourceState.SILENT),  # never sent since it was added
    ],
)
def test_a_source_is_silent_after_twice_its_interval(
    last: int | None, now: int, state: SourceState
) -> None:
    assert judge(_entry(interval_s=5.0), last, now) is state


def test_a_revoked_source_is_revoked_whatever_it_sent() -> None:
    revoked = msgspec.structs.replace(_entry(), revoked_ns=T0 + S)
    assert judge(revoked, T0 + 2 * S, T0 + 2 * S) is SourceState.REVOKED


def test_records_and_refusals_are_counted() -> None:
    tracker = HealthTracker()
    entry = _entry()
    tracker.observe("radar", IngestAnswer(accepted=3, duplicates=1), T0 + S)
    tracker.observe(
        "radar", IngestAnswer(refused=(_refusal("altitude"), _refusal("altitude"))), T0 + 2 * S
    )
    tracker.refuse("radar", "too_large")
    health = _only(tracker, entry, T0 + 3 * S)
    assert (health.accepted, health.duplicates) == (3, 1)
    assert health.refused == (("altitude", 2), ("too_large", 1))
    assert health.last_record_ns == T0 + S  # a refused batch is no record
    assert health.records_last_minute == 4
    assert health.rate_per_s == pytest.approx(4 / RATE_WINDOW_S)
    assert health.state is SourceState.LIVE


def test_a_source_whose_every_batch_is_refused_goes_silent() -> None:
    tracker = HealthTracker()
    entry = _entry(interval_s=1.0)
    for second in range(5):
        tracker.observe("radar", IngestAnswer(refused=(_refusal("stale"),)), T0 + second * S)
    health = _only(tracker, entry, T0 + 5 * S)
    assert health.state is SourceState.SILENT
    assert health.refused == (("stale", 5),)


def test_the_rate_counts_the_last_minute_only() -> None:
    tracker = HealthTracker()
    entry = _entry()
    for second in range(120):  # 10 records a second for two minutes
        tracker.observe("radar", IngestAnswer(accepted=10), T0 + second * S)
    assert _only(tracker, entry, T0 + 119 * S).records_last_minute == 10 * RATE_WINDOW_S
    assert _only(tracker, entry, T0 + 150 * S).records_last_minute == 10 * 29
    assert _only(tracker, entry, T0 + 200 * S).records_last_minute == 0
    assert _only(tracker, entry, T0 + 200 * S).accepted == 1200


def test_the_snapshot_shows_every_registered_name_once() -> None:
    tracker = HealthTracker()
    old = msgspec.structs.replace(_entry("radar", interval_s=1.0), revoked_ns=T0 + S)
    new = _entry("radar", added_ns=T0 + 2 * S, interval_s=3.0)
    gone = msgspec.structs.replace(_entry("old-c2"), revoked_ns=T0 + S)
    quiet = _entry("ir-sat")
    tracker.observe("radar", IngestAnswer(accepted=1), T0 + 3 * S)
    shown = tracker.snapshot([new, old, gone, quiet], T0 + 4 * S)
    assert [(h.name, h.state, h.interval_s) for h in shown] == [
        ("ir-sat", SourceState.LIVE, 5.0),
        ("old-c2", SourceState.REVOKED, 5.0),
        ("radar", SourceState.LIVE, 3.0),  # by its live entry
    ]
    assert shown[2].as_json() == {
        "name": "radar",
        "state": "live",
        "last_record_ns": T0 + 3 * S,
        "records_last_minute": 1,
        "rate_per_s": round(1 / 60, 3),
        "accepted": 1,
        "duplicates": 0,
        "refused": {},
        "interval_s": 3.0,
        "data_mode": "REAL",
    }
