"""The display's view model: what one party's display shows, built from its picture."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import T0, envelope, impact, launch, track
from warnlink.alerting.ledger import Ledger, point_of
from warnlink.fusion.freshness import STALE_AFTER_S
from warnlink.fusion.picture import Picture
from warnlink.geo.wgs84 import initial_azimuth_deg, surface_distance_m
from warnlink.model import Ellipse, Envelope
from warnlink.model.time import NS_PER_S
from warnlink.sharing.audit import DecisionRecord
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S
from warnlink.web.view import (
    RECENT_DECISIONS,
    Alert,
    StateView,
    build_state,
    decisions_for,
    ellipse_view,
    great_circle,
    link_view,
    profile,
)


def _apply(picture: Picture, ledger: Ledger, envelope: Envelope, now_ns: int) -> None:
    """As a node does: the ledger records what the picture applied (once)."""
    if picture.apply(envelope, now_ns):
        ledger.record(envelope)


def _picture() -> tuple[Picture, Ledger]:
    picture, ledger = Picture("JPN"), Ledger()
    _apply(picture, ledger, envelope(launch(), originator="ROK", seq=1), T0)
    _apply(picture, ledger, envelope(track(), originator="ROK", seq=2), T0)
    _apply(picture, ledger, envelope(impact(), originator="ROK", seq=3), T0)
    return picture, ledger


def _state(now_ns: int, alerts: list[Alert] | None = None) -> StateView:
    picture, history = _picture()
    return build_state(
        "JPN",
        "Japan",
        picture,
        now_ns,
        peers=["USA"],
        history=history.tracks,
        decisions=[],
        alerts=alerts or [],
    )


def test_an_event_shows_launch_track_impact_and_the_times_an_operator_needs() -> None:
    state = _state(T0 + 100 * NS_PER_S)
    (event,) = state.events
    assert event.originators == ["ROK"]
    assert event.range_class == "SRBM"
    assert event.since_launch_s == 100.0  # the factory's launch is at T0
    assert event.countdown_s == 500.0  # its impact at T0 + 600 s
    assert event.impact_by == "ROK"
    (rok,) = event.contributions
    assert rok.launch is not None
    assert rok.launch.sensor == "USA-IR"
    assert rok.track is not None
    assert rok.track.sensor == "ROK-R1"
    assert rok.impact is not None
    assert rok.impact.ellipse.semi_major_km == 20.0
    # The predicted ground track runs from the track's ground point to the impact point.
    here = point_of(track())
    assert event.predicted_ground_track[0] == pytest.approx((here.lat_deg, here.lon_deg), abs=1e-3)
    assert event.predicted_ground_track[-1] == pytest.approx((40.5, 136.0), abs=1e-3)


def test_items_go_stale_when_not_refreshed() -> None:
    fresh = _state(T0 + round((STALE_AFTER_S - 1) * NS_PER_S)).events[0]
    old = _state(T0 + round((STALE_AFTER_S + 1) * NS_PER_S)).events[0]
    assert not fresh.stale
    assert fresh.contributions[0].track is not None
    assert not fresh.contributions[0].track.stale
    assert old.stale
    assert old.contributions[0].track is not None
    assert old.contributions[0].track.stale
    assert old.contributions[0].impact is not None
    assert old.contributions[0].impact.stale


def test_without_a_node_the_display_is_empty_and_its_links_down() -> None:
    state = build_state(
        "JPN", "Japan", None, None, peers=["USA"], history={}, decisions=[], alerts=[]
    )
    assert state.events == []
    assert state.time is None
    assert [(lk.peer, lk.state) for lk in state.links] == [("USA", "down")]


def test_alerts_pass_through_to_the_banner() -> None:
    alert = Alert("JPN-E1", "eez", "Impact predicted in Japan's EEZ")
    assert _state(T0, [alert]).alerts == [alert]


@pytest.mark.parametrize(
    ("age_intervals", "expected"), [(0, "up"), (2, "up"), (3, "late"), (4, "late"), (5, "down")]
)
def test_link_health_from_the_last_heartbeat(age_intervals: int, expected: str) -> None:
    now = T0 + round(age_intervals * HEARTBEAT_INTERVAL_S * NS_PER_S)
    assert link_view("USA", T0, now).state == expected


def test_a_link_never_heard_is_down() -> None:
    assert link_view("USA", None, T0).state == "down"


def _decision(i: int, originator: str, recipient: str) -> DecisionRecord:
    return DecisionRecord(
        time=T0 + i,
        decider="USA",
        msg_id=f"{i:032x}",
        originator=originator,
        kind="track_report",
        recipient=recipient,
        outcome="redacted",
        reason="fields_withheld",
        content_sha256="0" * 64,
        withheld=("sensor",),
    )


def test_a_party_sees_only_the_relay_decisions_that_name_it_newest_first() -> None:
    records = [_decision(1, "ROK", "JPN"), _decision(2, "ROK", "USA"), _decision(3, "JPN", "ROK")]
    shown = decisions_for("JPN", records)
    assert [(d.originator, d.recipient) for d in shown] == [("JPN", "ROK"), ("ROK", "JPN")]
    assert shown[1].withheld == ["sensor"]
    assert decisions_for("ROK", [_decision(2, "JPN", "USA")]) == []
    many = [_decision(i, "ROK", "JPN") for i in range(RECENT_DECISIONS + 5)]
    assert len(decisions_for("JPN", many)) == RECENT_DECISIONS


def test_an_ellipse_outline_has_its_axes_where_the_ellipse_says() -> None:
    view = ellipse_view(40.0, 135.0, Ellipse(20_000.0, 5_000.0, 60.0))
    lats = [p[0] for p in view.ring]
    lons = [p[1] for p in view.ring]
    distances = surface_distance_m(40.0, 135.0, lats, lons)
    assert distances.max() == pytest.approx(20_000.0, rel=1e-3)
    assert distances.min() == pytest.approx(5_000.0, rel=1e-2)
    # The first point is at the end of the major axis, on its bearing.
    assert float(initial_azimuth_deg(40.0, 135.0, lats[0], lons[0])) == pytest.approx(60.0, abs=0.1)


def test_a_great_circle_runs_end_to_end() -> None:
    path = great_circle((39.0, 125.7), (40.4, 136.1), points=10)
    assert len(path) == 10
    assert path[0] == pytest.approx((39.0, 125.7), abs=1e-3)
    assert path[-1] == pytest.approx((40.4, 136.1), abs=1e-3)


def test_the_profile_is_altitude_against_downrange_from_the_launch_point() -> None:
    here = point_of(track())
    ((downrange_km, alt_km),) = profile([here], (here.lat_deg, here.lon_deg))
    assert downrange_km == 0.0
    assert alt_km == pytest.approx(here.alt_m / 1000, abs=0.01)
    ((further_km, _),) = profile([here], (here.lat_deg - 1.0, here.lon_deg))
    assert further_km == pytest.approx(111.2, abs=0.5)


def test_the_history_keeps_each_new_track_state_once() -> None:
    picture, history = _picture()
    _apply(picture, history, envelope(track(), originator="ROK", seq=2), T0)  # nothing new
    assert len(history.tracks[("ROK", 1)]) == 1
    later = msgspec.structs.replace(track(), epoch=T0 + NS_PER_S)
    _apply(picture, history, envelope(later, originator="ROK", seq=4), T0 + NS_PER_S)
    assert [p.epoch for p in history.tracks[("ROK", 1)]] == [T0, T0 + NS_PER_S]


def test_a_refusal_is_shown_to_the_originator_not_to_the_party_refused() -> None:
    refused = msgspec.structs.replace(
        _decision(1, "JPN", "ROK"), outcome="refused", reason="not_released", withheld=()
    )
    assert decisions_for("ROK", [refused]) == []
    (shown,) = decisions_for("JPN", [refused])
    assert shown.outcome == "refused"
    assert len(decisions_for("USA", [refused])) == 1  # the relay's own decision
