"""The display's view model: what one party's display shows, built from its picture."""

from __future__ import annotations

from types import SimpleNamespace

import msgspec
import pytest

from tests.factories import T0, envelope, impact, launch, track
from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.alerting.ledger import point_of
from warnlink.alerting.lifecycle import Alert as AlertMessage
from warnlink.alerting.lifecycle import AlertState, MsgType, Reason
from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.fusion.freshness import STALE_AFTER_S
from warnlink.fusion.picture import Picture
from warnlink.geo.areas import AreaKind
from warnlink.model import Ellipse, Envelope
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.sharing.audit import DecisionRecord
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S
from warnlink.web.view import (
    RECENT_DECISIONS,
    Alert,
    StateView,
    banner_alerts,
    build_state,
    decisions_for,
    ellipse_view,
    link_view,
    profile,
)


def _apply(party: SimpleNamespace, envelope: Envelope, now_ns: int) -> None:
    """As a node does: the alerting ledger records what the picture applied (once)."""
    if party.picture.apply(envelope, now_ns):
        party.alerts.record(envelope)


def _party(now_ns: int = T0) -> SimpleNamespace:
    """What a display reads of JPN (`interop.party.PartyView`): one ROK missile."""
    party = SimpleNamespace(
        party="JPN",
        picture=Picture("JPN"),
        alerts=AlertMonitor("JPN"),
        clock=ManualClock(now_ns),
        counters=Counters(),
    )
    _apply(party, envelope(launch(), originator="ROK", seq=1), T0)
    _apply(party, envelope(track(), originator="ROK", seq=2), T0)
    _apply(party, envelope(impact(), originator="ROK", seq=3), T0)
    return party


def _state(now_ns: int, alerts: list[Alert] | None = None) -> StateView:
    return build_state(
        "JPN", "Japan", _party(now_ns), peers=["USA"], decisions=[], alerts=alerts or []
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
    assert event.data_mode == "REAL"
    assert state.non_real_modes == []


def test_the_predicted_ground_track_is_alerting_s_ballistic_one() -> None:
    party = _party(T0 + 10 * NS_PER_S)
    (event,) = build_state("JPN", "Japan", party, peers=["USA"], decisions=[]).events
    path = party.alerts.ground_track(party.picture.events["JPN-E1"])
    assert path is not None
    assert event.predicted_ground_track == [
        (round(lat, 4), round(lon, 4)) for lat, lon in zip(path.lat_deg, path.lon_deg, strict=True)
    ]
    # From the track's ground point, flown to where it comes down (not a great circle).
    here = point_of(track())
    assert event.predicted_ground_track[0] == pytest.approx((here.lat_deg, here.lon_deg), abs=1e-3)
    assert path.alt_m[-1] == pytest.approx(0.0, abs=50.0)
    assert len(event.predicted_ground_track) > 2


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
    state = build_state("JPN", "Japan", None, peers=["USA"], decisions=[], alerts=[])
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


def test_an_ellipse_view_is_the_ring_in_km_rounded() -> None:
    ring = ((40.123456, 135.987654), (40.2, 136.0), (40.123456, 135.987654))
    view = ellipse_view(Ellipse(20_000.0, 5_000.0, 60.04), ring)
    assert (view.semi_major_km, view.semi_minor_km, view.orientation_deg) == (20.0, 5.0, 60.0)
    assert view.ring == [(40.1235, 135.9877), (40.2, 136.0), (40.1235, 135.9877)]


def test_the_rings_shown_are_the_projection_s() -> None:
    (event,) = _state(T0).events
    (rok,) = event.contributions
    assert rok.impact is not None
    assert len(rok.impact.ellipse.ring) == 37  # 36 points, closed
    assert rok.impact.ellipse.ring[0] == rok.impact.ellipse.ring[-1]


def test_the_profile_is_altitude_against_downrange_from_the_launch_point() -> None:
    here = point_of(track())
    ((downrange_km, alt_km),) = profile([here], (here.lat_deg, here.lon_deg))
    assert downrange_km == 0.0
    assert alt_km == pytest.approx(here.alt_m / 1000, abs=0.01)
    ((further_km, _),) = profile([here], (here.lat_deg - 1.0, here.lon_deg))
    assert further_km == pytest.approx(111.2, abs=0.5)


def test_the_history_keeps_each_new_track_state_once() -> None:
    party = _party()
    history = party.alerts.ledger
    _apply(party, envelope(track(), originator="ROK", seq=2), T0)  # nothing new
    assert len(history.tracks[("ROK", 1)]) == 1
    later = msgspec.structs.replace(track(), epoch=T0 + NS_PER_S)
    _apply(party, envelope(later, originator="ROK", seq=4), T0 + NS_PER_S)
    assert [p.epoch for p in history.tracks[("ROK", 1)]] == [T0, T0 + NS_PER_S]
    (event,) = build_state("JPN", "Japan", party, peers=[], decisions=[]).events
    assert len(event.contributions[0].track.flown) == 2  # type: ignore[union-attr]


def test_a_refusal_is_shown_to_the_originator_not_to_the_party_refused() -> None:
    refused = msgspec.structs.replace(
        _decision(1, "JPN", "ROK"), outcome="refused", reason="not_released", withheld=()
    )
    assert decisions_for("ROK", [refused]) == []
    (shown,) = decisions_for("JPN", [refused])
    assert shown.outcome == "refused"
    assert len(decisions_for("USA", [refused])) == 1  # the relay's own decision


def _exercise_party() -> SimpleNamespace:
    party = _party(T0 + 10 * NS_PER_S)
    drill = envelope(track(2), originator="USA", seq=7)
    _apply(party, msgspec.structs.replace(drill, data_mode=DataMode.EXERCISE), T0)
    return party


def test_every_event_says_its_data_mode_and_the_state_what_is_not_real() -> None:
    state = build_state("JPN", "Japan", _exercise_party(), peers=[], decisions=[])
    modes = {e.event_id: e.data_mode for e in state.events}
    assert sorted(modes.values()) == ["EXERCISE", "REAL"]  # never associated together
    assert state.non_real_modes == ["EXERCISE"]
    served = msgspec.json.decode(msgspec.json.encode(state))
    assert sorted(e["data_mode"] for e in served["events"]) == ["EXERCISE", "REAL"]
    assert served["non_real_modes"] == ["EXERCISE"]


@pytest.mark.parametrize(("mode", "head"), [(DataMode.REAL, "impact"), (DataMode.TEST, "TEST: ")])
def test_a_banner_line_says_the_alert_s_data_mode_unless_real(mode: DataMode, head: str) -> None:
    threat = Threat(
        "JPN-E1", "JPN eez", AreaKind.EEZ, ThreatKind.IMPACT, 0.93, T0, T0, (), ("m1",), mode
    )
    message = AlertMessage("a1", "JPN", MsgType.ALERT, Reason.ISSUED, T0, threat, ())
    (line,) = banner_alerts([message])
    assert line.headline.startswith(head)
    party = _party()
    party.alerts.book[message.key] = AlertState(message, active=True, sent=1)
    state = build_state("JPN", "Japan", party, peers=[], decisions=[])
    assert [a.headline for a in state.alerts] == [line.headline]
