"""Where `warnlink feed` places a scenario on the wall clock: real time, epoch moved to now."""

from __future__ import annotations

import numpy as np
import pytest

from warnlink import demo
from warnlink.errors import ConfigError
from warnlink.feed import options
from warnlink.feed.timeline import LEAD_S, place
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate

START_NS = 1_800_000_000 * NS_PER_S


def estimate(available_s: float) -> TrackEstimate:
    return TrackEstimate(
        time_s=available_s - 2.0,
        pos_ecef_m=np.zeros(3),
        vel_ecef_mps=np.zeros(3),
        cov=np.eye(6),
        phase="midcourse",
        quality=9,
        sensor="R-1",
        track_number=1,
        party="ROK",
        available_s=available_s,
    )


ESTIMATES = [estimate(s) for s in (130.0, 102.0, 768.0)]


def test_the_first_record_falls_due_the_lead_after_the_start() -> None:
    timeline = place(ESTIMATES, 769.6, start_ns=START_NS, tail_s=90.0)
    assert timeline.wall_ns(102.0) == START_NS + round(LEAD_S * NS_PER_S)
    # Real time: a scenario second is a wall-clock second.
    assert timeline.wall_ns(130.0) - timeline.wall_ns(102.0) == 28 * NS_PER_S
    assert timeline.scenario_s(timeline.wall_ns(555.5)) == pytest.approx(555.5)


def test_it_plays_to_the_last_impact_and_the_tail() -> None:
    timeline = place(ESTIMATES, 769.6, start_ns=START_NS, tail_s=90.0)
    assert timeline.until_s == 769.6
    assert timeline.end_ns == timeline.wall_ns(859.6)


def test_until_cuts_the_playback_short() -> None:
    timeline = place(ESTIMATES, 769.6, start_ns=START_NS, until_s=170.0, tail_s=5.0)
    assert timeline.until_s == 170.0
    assert timeline.end_ns == timeline.wall_ns(175.0)
    assert timeline.wall_ns(102.0) == START_NS + round(LEAD_S * NS_PER_S)


@pytest.mark.parametrize(
    ("estimates", "until_s", "tail_s", "said"),
    [
        ([], None, 5.0, "no party a record"),
        (ESTIMATES, 90.0, 5.0, "before the first record"),
        (ESTIMATES, None, -1.0, "must not be negative"),
    ],
)
def test_what_cannot_be_played_is_refused(
    estimates: list[TrackEstimate], until_s: float | None, tail_s: float, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        place(estimates, 769.6, start_ns=START_NS, until_s=until_s, tail_s=tail_s)


def test_the_feed_reads_its_summary_as_long_after_impact_as_the_demo() -> None:
    assert options.TAIL_S == demo.TAIL_S
