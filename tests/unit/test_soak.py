"""The soak's arithmetic (case 7): what each window offered, its latency quantiles, the
memory growth and the p99 drift over the soak's windows."""

from __future__ import annotations

import itertools

import pytest

from tests.factories import envelope
from warnlink.faults.measure import Ledger
from warnlink.faults.report import soak_json, soak_table
from warnlink.faults.soak import (
    Growth,
    SoakFigures,
    Window,
    drift,
    growth,
    offered_in,
    p50_p99_ms,
    window_of,
)


def _window(
    index: int,
    phase: str,
    end_s: float,
    *,
    rss_mb: dict[str, float],
    p99_ms: dict[str, float],
) -> Window:
    return Window(
        index=index,
        phase=phase,
        end_s=end_s,
        length_s=60.0,
        offered=100,
        sent=90,
        applied=180,
        latency_ms={r: (q / 2, q) for r, q in p99_ms.items()},
        rss_mb=rss_mb,
        cpu_pct={},
        backlog=20,
        held={"picture ids": 10},
    )


def test_the_schedule_offers_rate_times_length_and_nothing_after_the_soak() -> None:
    assert offered_in(10.0, 0.0, 1.0, 60.0) == 10  # reports at 0.0, 0.1, ... 0.9
    assert offered_in(10.0, 0.95, 1.05, 60.0) == 1  # the one at 1.0
    assert offered_in(10.0, 59.5, 65.0, 60.0) == 5  # clipped at the soak's end
    assert offered_in(10.0, 60.0, 70.0, 60.0) == 0  # the drain offers nothing
    edges = [0.0, 7.3, 19.99, 31.4, 60.0, 61.0]
    parts = [offered_in(800.0, a, b, 60.0) for a, b in itertools.pairwise(edges)]
    assert sum(parts) == 800 * 60  # windows of any length add up to the whole schedule


def test_latency_quantiles_are_in_ms() -> None:
    assert p50_p99_ms([]) is None
    assert p50_p99_ms([0.25]) == (250.0, 250.0)
    quantiles = p50_p99_ms([k / 1000 for k in range(1, 101)])  # 1 ms .. 100 ms
    assert quantiles is not None
    p50, p99 = quantiles
    assert p50 == pytest.approx(50.5, abs=0.5)
    assert p99 == pytest.approx(99.0, abs=1.0)


def test_a_window_counts_its_deliveries_and_leaves_out_recipients_without_any() -> None:
    window = window_of(
        3,
        "soak",
        end_s=180.0,
        length_s=60.0,
        offered=48_000,
        sent=12_000,
        samples_s={"JPN": [0.1] * 30, "USA": [0.2] * 20, "ROK": []},
        rss_mb={"relay": 100.0},
        cpu_pct={"relay": 25.0},
        backlog=7,
        held={"picture ids": 5},
    )
    assert window.applied == 50
    assert set(window.latency_ms) == {"JPN", "USA"}
    assert window.latency_ms["USA"] == pytest.approx((200.0, 200.0))
    assert window.offered_per_s == 800.0
    assert window.sent_per_s == 200.0


def test_growth_and_drift_run_from_the_first_to_the_last_soak_window() -> None:
    windows = [
        _window(1, "soak", 60.0, rss_mb={"relay": 100.0, "suite": 200.0}, p99_ms={"JPN": 50.0}),
        _window(2, "soak", 120.0, rss_mb={"relay": 101.0, "suite": 230.0}, p99_ms={"JPN": 70.0}),
        _window(
            3,
            "soak",
            180.0,
            rss_mb={"relay": 102.0, "suite": 260.0},
            p99_ms={"JPN": 100.0, "USA": 9.0},
        ),
        # The drain is left out: its latency is the backlog's, its memory after the load.
        _window(4, "drain", 240.0, rss_mb={"relay": 500.0, "suite": 900.0}, p99_ms={"JPN": 9e3}),
    ]
    assert growth(windows) == {
        "relay": Growth(mb=2.0, mb_per_min=1.0),
        "suite": Growth(mb=60.0, mb_per_min=30.0),
    }
    assert drift(windows) == {"JPN": 2.0, "USA": None}
    assert growth(windows[3:]) == {}
    assert drift([]) == {}


def test_the_report_shows_every_window_and_the_figures() -> None:
    windows = tuple(
        _window(i, "soak", 60.0 * i, rss_mb={"relay": 100.0 + i}, p99_ms={"JPN": 10.0 * i})
        for i in (1, 2)
    )
    figures = SoakFigures(800.0, 120.0, windows, growth(windows), drift(windows))
    text = soak_table(figures)
    assert "| 2 | soak | 120 |" in text
    assert "relay +1.0 MB (+1.0 MB/min)" in text
    assert "JPN 2.00x" in text
    as_json = soak_json(figures)
    assert len(as_json["windows"]) == 2
    assert as_json["growth"]["relay"] == {"mb": 1.0, "mb_per_min": 1.0}
    assert as_json["p99_drift"] == {"JPN": 2.0}


def test_the_ledger_counts_what_is_outstanding_as_deliveries_happen() -> None:
    ledger = Ledger()
    latencies: list[str] = []
    ledger.on_delivery = lambda recipient, _: latencies.append(recipient)
    first, second = envelope(seq=1), envelope(seq=2)
    for message in (first, second):
        ledger.original(message, ("JPN", "ROK", "USA"))
    assert ledger.outstanding() == ledger.due == 4
    ledger.applied("JPN", first)
    ledger.applied("JPN", first)  # a duplicate is not a second delivery
    ledger.applied("USA", second)
    assert ledger.outstanding() == 2
    assert ledger.delivered == 2
    assert latencies == ["JPN", "USA"]
    ledger.expect_refused("JPN")  # counted one by one, as before: USA's first is left
    assert ledger.outstanding() == 1
