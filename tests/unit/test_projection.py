"""The output port's projection: one event as every output reads it."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import T0, envelope, impact, launch, party_state, track
from warnlink.alerting.ledger import point_of
from warnlink.fusion.freshness import STALE_AFTER_S
from warnlink.fusion.gating import extrapolate, state_of
from warnlink.geo.ellipse import ellipse_ring
from warnlink.interop.projection import project_event, project_party
from warnlink.model import Ellipse, RangeClass, Status
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S


def _two_originators() -> object:
    """JPN holding one missile tracked by ROK and USA: USA's launch is the tighter,
    ROK's impact prediction the later."""
    state = party_state(now_ns=T0 + 10 * NS_PER_S)
    usa_launch = msgspec.structs.replace(
        launch(7), launch_aou=Ellipse(2_000.0, 2_000.0, 0.0), range_class=RangeClass.MRBM
    )
    mean, _ = extrapolate(*state_of(track(7)), 2.0)
    later = msgspec.structs.replace(
        track(7),
        epoch=T0 + 2 * NS_PER_S,
        pos=tuple(float(v) for v in mean[:3]),
        vel=tuple(float(v) for v in mean[3:]),
    )
    earlier_impact = msgspec.structs.replace(impact(7), epoch=T0 - NS_PER_S, impact_lat=40.4)
    for seq, payload in enumerate((usa_launch, later, earlier_impact), start=1):
        state.apply(envelope(payload, originator="USA", seq=seq))
    return state


def test_an_event_projects_its_best_launch_latest_impact_and_latest_track() -> None:
    state = _two_originators()
    (event,) = project_party(state).events  # type: ignore[arg-type]
    assert event.party == "JPN"
    assert event.as_of_ns == T0 + 10 * NS_PER_S
    assert event.originators == ("ROK", "USA")
    assert [(c.originator, c.trk_id) for c in event.contributions] == [("ROK", 1), ("USA", 7)]
    assert event.launch is not None
    assert (event.launch.originator, event.launch.report.launch_aou.semi_major_m) == ("USA", 2e3)
    assert event.impact is not None
    assert event.impact.originator == "ROK"
    assert event.track is not None
    assert (event.track.originator, event.track.report.epoch) == ("USA", T0 + 2 * NS_PER_S)
    assert event.range_class is RangeClass.MRBM  # the longest reported
    assert event.status is Status.FLYING
    assert event.data_mode is DataMode.REAL


def test_rings_are_the_ground_ellipses_of_the_reports() -> None:
    (event,) = project_party(party_state()).events
    assert event.launch is not None
    assert event.impact is not None
    report, ipp = event.launch.report, event.impact.prediction
    assert event.launch.ring == ellipse_ring(
        report.launch_lat, report.launch_lon, report.launch_aou
    )
    assert event.impact.ring == ellipse_ring(ipp.impact_lat, ipp.impact_lon, ipp.impact_aou)


def test_the_ground_track_is_alerting_s_and_the_history_the_ledger_s() -> None:
    state = party_state()
    (event,) = project_party(state).events
    assert event.ground_track is not None
    assert event.ground_track == state.alerts.ground_track(state.picture.events["JPN-E1"])
    (rok,) = event.contributions
    assert rok.history == (point_of(track()),)
    assert rok.history == state.alerts.ledger.track_points(("ROK", 1))
    assert rok.track is not None
    assert rok.track.position == point_of(track())


def test_staleness_follows_the_clock() -> None:
    fresh = project_party(party_state(now_ns=T0 + round((STALE_AFTER_S - 1) * NS_PER_S)))
    old = project_party(party_state(now_ns=T0 + round((STALE_AFTER_S + 1) * NS_PER_S)))
    assert not fresh.events[0].stale
    assert old.events[0].stale
    assert old.events[0].track is not None
    assert old.events[0].track.stale
    assert old.events[0].impact is not None
    assert old.events[0].impact.stale


def test_a_finished_event_has_the_most_common_ending() -> None:
    state = party_state()
    contribution = state.picture.events["JPN-E1"].contributions[("ROK", 1)]
    contribution.status = Status.IMPACTED
    (event,) = project_party(state).events
    assert event.status is Status.IMPACTED


@pytest.mark.parametrize("mode", list(DataMode))
def test_the_event_carries_its_data_mode(mode: DataMode) -> None:
    projection = project_party(party_state(data_mode=mode))
    assert projection.events[0].data_mode is mode
    assert projection.non_real_modes == (() if mode is DataMode.REAL else (mode,))


def test_only_the_events_asked_for() -> None:
    state = _two_originators()
    drill = msgspec.structs.replace(
        envelope(track(9), originator="USA", seq=9), data_mode=DataMode.EXERCISE
    )
    state.apply(drill)  # type: ignore[attr-defined]
    everything = project_party(state)  # type: ignore[arg-type]
    drill_event, missile = everything.events  # the one without a launch report first
    assert (drill_event.data_mode, missile.event_id) == (DataMode.EXERCISE, "JPN-E1")
    assert drill_event.launch is None
    assert everything.non_real_modes == (DataMode.EXERCISE,)
    only = project_party(state, {"JPN-E1"})  # type: ignore[arg-type]
    assert [e.event_id for e in only.events] == ["JPN-E1"]
    assert only.event("JPN-E1") is only.events[0]
    assert only.event(drill_event.event_id) is None


def test_project_event_is_the_party_projection_s() -> None:
    state = party_state()
    event = state.picture.events["JPN-E1"]
    alone = project_event("JPN", event, state.alerts, state.clock.now_ns())
    assert project_party(state).events == (alone,)
