"""The feed's summary: what each party holds, read back, against truth and labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import msgspec
import pytest

from tests.factories import T0, envelope, impact, launch, party_state, track
from warnlink.feed.summary import (
    PartyReadback,
    check_leaks,
    event_summary,
    first_receipts,
    summarise_feed,
)
from warnlink.feed.timeline import Timeline
from warnlink.geo.wgs84 import surface_distance_m
from warnlink.model import Envelope, Heartbeat, new_envelope
from warnlink.model.label import SecurityLabel
from warnlink.model.time import NS_PER_S
from warnlink.report import format_feed
from warnlink.sim.trajectory import Trajectory
from warnlink.web.view import build_state

S = NS_PER_S
#: The scenario's epoch 100 s before the missile's launch (T0, as the factories say).
TIMELINE = Timeline(epoch_ns=T0 - 100 * S, until_s=800.0, end_ns=T0 + 790 * S)


@dataclass(frozen=True)
class Flight:
    """What the summary reads of a flown trajectory (`sim.trajectory.Trajectory`)."""

    launch_time_s: float
    impact_time_s: float
    impact_lat_deg: float
    impact_lon_deg: float


#: Launched at T0, falling 600.5 s later a little east of the predicted (40.5, 136.0).
TRUTH = {"L1": cast(Trajectory, Flight(100.0, 600.5, 40.5, 136.1))}


def jpn_state() -> dict[str, Any]:
    """JPN's /api/state holding ROK's missile (launch, track, impact), as JSON decodes it."""
    view = build_state("JPN", "Japan", party_state("JPN"), peers=("USA",), decisions=())
    state: dict[str, Any] = json.loads(msgspec.json.encode(view))
    return state


def heartbeat(originator: str, to: str) -> Envelope:
    return new_envelope(
        originator=originator,
        seq=99,
        created=T0,
        label=SecurityLabel("UNCLASSIFIED", (to,)),
        payload=Heartbeat(trk_id=0, interval_s=5.0),
        data_mode=None,
    )


def test_the_first_launch_report_and_prediction_of_each_track_count() -> None:
    applied = [
        (T0 + 50 * S, envelope(launch(), seq=1)),
        (T0 + 42 * S, envelope(launch(2), seq=2)),
        (T0 + 60 * S, envelope(launch(), seq=3)),
        (T0 + 94 * S, envelope(impact(), seq=4)),
        (T0 + 95 * S, envelope(track(), seq=5)),
    ]
    firsts = first_receipts(applied)
    assert firsts == {
        "launch": {("ROK", 1): T0 + 50 * S, ("ROK", 2): T0 + 42 * S},
        "impact": {("ROK", 1): T0 + 94 * S},
    }


def test_an_event_is_summarised_as_the_demo_does() -> None:
    state = jpn_state()
    firsts = first_receipts(
        [(T0 + 42 * S, envelope(launch(), seq=1)), (T0 + 94 * S, envelope(impact(), seq=3))]
    )
    event = event_summary(state["events"][0], firsts, TIMELINE, TRUTH)
    assert event["originators"] == ["ROK"]
    assert event["first_launch_report_after_launch_s"] == 42.0
    assert event["first_impact_prediction_after_launch_s"] == 94.0
    rok = event["by_originator"]["ROK"]
    assert rok["launch"]["radius_95_km"] == 5.0
    assert rok["launch"]["range_class"] == "SRBM"
    assert event["impact_prediction"]["by"] == "ROK"
    assert event["impact_prediction"]["semi_major_km"] == 20.0
    error_km = float(surface_distance_m(40.5, 136.0, 40.5, 136.1)) / 1000
    assert event["impact_error_km"] == pytest.approx(error_km, abs=1e-3)
    assert event["impact_time_error_s"] == -0.5  # predicted T0 + 600 s, true T0 + 600.5 s


def test_a_delivery_its_originator_did_not_release_to_the_recipient_is_a_leak() -> None:
    for_usa = envelope(track(), seq=1, rel_to=("USA",))
    sensor_kept = envelope(track(), seq=2, field_rel_to={"sensor": ("USA",)})
    clean = envelope(track(), seq=3)
    unknown = envelope(track(), seq=4, originator="USA")
    leaks, checked, heartbeats = check_leaks(
        {
            "JPN": [for_usa, sensor_kept, clean, unknown, heartbeat("USA", "JPN")],
            "ROK": [for_usa],  # its own: an original, not a delivery
        },
        [for_usa, sensor_kept, clean],
    )
    assert sorted(leak.what for leak in leaks) == ["field:sensor", "message", "unknown_origin"]
    assert (checked, heartbeats) == (4, 1)


def test_a_clean_feed_is_complete_without_leaks() -> None:
    original = envelope(launch(), seq=1)
    applied = [(T0 + 42 * S, original), (T0 + 94 * S, envelope(impact(), seq=3))]
    summary = summarise_feed(
        scenario="default",
        federation="trilateral",
        via="http",
        timeline=TIMELINE,
        trajectories=TRUTH,
        parties={"JPN": PartyReadback("Japan", jpn_state(), applied)},
        originals=[original, applied[1][1]],
    )
    assert (summary["leaks"], summary["deliveries_checked"], summary["complete"]) == (0, 2, True)
    assert summary["parties"]["JPN"]["received_from"] == {"ROK": 2}
    assert "leaks: 0" in format_feed(summary)


def test_a_party_without_an_impact_prediction_makes_the_feed_incomplete() -> None:
    state = jpn_state()
    for contribution in state["events"][0]["contributions"]:
        contribution["impact"] = None
    state["events"][0] |= {"impact_by": None, "impact_time_ns": None}
    summary = summarise_feed(
        scenario="default",
        federation="trilateral",
        via="cot",
        timeline=TIMELINE,
        trajectories=TRUTH,
        parties={"JPN": PartyReadback("Japan", state, [])},
        originals=[],
    )
    assert summary["complete"] is False
    assert "incomplete" in format_feed(summary)
