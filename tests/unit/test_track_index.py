"""Association per report: the track index, the split evidence, the ballistic salvo reports."""

from __future__ import annotations

from collections import Counter

import msgspec
import numpy as np
import pytest

from tests.factories import T0, envelope, impact
from warnlink.benchmarks.association import ORIGINATORS, per_report_us, salvo_round, trackless_us
from warnlink.benchmarks.e2e import track_report
from warnlink.fusion.gating import GATE_CHI2_3DOF, surely_gated, track_distance2
from warnlink.fusion.picture import Picture
from warnlink.model import Envelope, EventStatus, Status, TrackReport
from warnlink.model.time import NS_PER_S


def _report(trk_id: int, originator: str, seq: int, t_s: float, *, east_m: float = 0.0) -> Envelope:
    """`originator`'s track `trk_id` of the missile `east_m` east, `t_s` into the flight."""
    epoch = T0 + round(t_s * NS_PER_S)
    payload = track_report(trk_id, epoch, offset_m=east_m, flown_s=t_s, pos_sigma_m=300.0)
    return envelope(payload, originator=originator, seq=seq)


def _groups(picture: Picture) -> set[frozenset[tuple[str, int]]]:
    return {frozenset(e.contributions) for e in picture.events.values()}


@pytest.mark.slow
def test_1000_missiles_reported_on_ballistic_arcs_stay_1000_events() -> None:
    """1,000 missiles, each tracked by 3 originators and reported every 20 s for a minute:
    1,000 events of 3 tracks, and nothing ever split off (no dissolve/re-gate storm)."""
    picture = Picture("USA")
    seqs = dict.fromkeys(ORIGINATORS, 0)
    for number in range(4):
        for message in salvo_round(1_000, number, seqs, interval_s=20.0):
            picture.apply(message, message.created)
    assert len(picture.events) == 1_000
    for event in picture.events.values():
        assert Counter(o for o, _ in event.contributions) == dict.fromkeys(ORIGINATORS, 1)
        assert len({trk_id for _, trk_id in event.contributions}) == 1
        assert not event.split_off


def test_tracks_that_diverge_are_split_on_that_evidence() -> None:
    picture = Picture("USA")
    picture.apply(_report(1, "ROK", 1, 0.0), T0)
    picture.apply(_report(4, "JPN", 1, 0.5), T0)
    assert _groups(picture) == {frozenset({("ROK", 1), ("JPN", 4)})}
    picture.apply(_report(1, "ROK", 2, 10.0), T0)
    assert len(picture.events) == 1  # still one missile: nothing to split
    # JPN's track is now 40 km from ROK's arc: another missile.
    picture.apply(_report(4, "JPN", 2, 10.5, east_m=40_000.0), T0)
    assert _groups(picture) == {frozenset({("ROK", 1)}), frozenset({("JPN", 4)})}
    assert any(e.split_off for e in picture.events.values())


def test_a_track_number_reused_by_another_originator_is_its_own_track() -> None:
    picture = Picture("USA")
    picture.apply(_report(7, "ROK", 1, 0.0), T0)
    picture.apply(_report(7, "JPN", 1, 0.5, east_m=200_000.0), T0)
    assert _groups(picture) == {frozenset({("ROK", 7)}), frozenset({("JPN", 7)})}
    picture.apply(_report(7, "USA", 1, 1.0, east_m=200_000.0), T0)
    picture.apply(_report(7, "ROK", 2, 2.0), T0)
    assert _groups(picture) == {frozenset({("ROK", 7)}), frozenset({("JPN", 7), ("USA", 7)})}
    (rok,) = (
        e.contributions[("ROK", 7)]
        for e in picture.events.values()
        if ("ROK", 7) in e.contributions
    )
    assert rok.track_count == 2


def test_a_track_silent_for_long_then_reported_again_keeps_its_event() -> None:
    """ROK's track is not reported for 90 s (beyond the 60 s gate) while JPN's and USA's
    are; reported again where the missile is, it is still the same event's."""
    picture = Picture("USA")
    for seq, t_s in enumerate((0.0, 1.0), start=1):
        for lag, (originator, trk_id) in enumerate((("ROK", 1), ("JPN", 2), ("USA", 3))):
            picture.apply(_report(trk_id, originator, seq, t_s + 0.2 * lag), T0)
    for seq, t_s in enumerate(range(10, 100, 10), start=3):
        picture.apply(_report(2, "JPN", seq, t_s), T0)
        picture.apply(_report(3, "USA", seq, t_s + 0.2), T0)
    picture.apply(_report(1, "ROK", 3, 100.0), T0)
    assert _groups(picture) == {frozenset({("ROK", 1), ("JPN", 2), ("USA", 3)})}


def test_a_track_joins_when_its_predecessor_is_reported_lost_after_it_came() -> None:
    """ROK's and USA's tracks 1 and 3 are one missile. ROK's new track 5 (300 s on, too late
    to gate by state) agrees in impact with its track 1, which ROK still holds: two
    missiles. When track 1 is reported lost, that report alone lets track 5 join the
    event (a candidate changed, though track 5 did not)."""
    picture = Picture("USA")
    picture.apply(_report(1, "ROK", 1, 0.0), T0)
    picture.apply(_report(3, "USA", 1, 0.5), T0)
    picture.apply(envelope(impact(1), originator="ROK", seq=2), T0)
    later = T0 + 300 * NS_PER_S
    picture.apply(_report(5, "ROK", 3, 300.0), T0)
    predicted = msgspec.structs.replace(impact(1), trk_id=5, epoch=later)
    picture.apply(envelope(predicted, originator="ROK", seq=4), T0)
    assert len(picture.events) == 2
    lost = EventStatus(trk_id=1, epoch=T0 + 60 * NS_PER_S, status=Status.LOST)
    picture.apply(envelope(lost, originator="ROK", seq=5), T0)  # type: ignore[arg-type]
    assert _groups(picture) == {frozenset({("ROK", 1), ("USA", 3), ("ROK", 5)})}


@pytest.mark.parametrize("seed", range(4))
def test_the_split_evidence_bound_never_says_gated_beyond_the_gate(seed: int) -> None:
    """Where `surely_gated` says yes, the gate itself agrees (random pairs above the drag
    ceiling, correlated covariances, gaps up to a minute, either order)."""
    rng = np.random.default_rng(seed)
    said_yes = 0
    for _ in range(300):
        reports: list[TrackReport] = []
        t_s = rng.uniform(0.0, 200.0)
        for _ in range(2):
            root = rng.normal(size=(6, 6)) @ np.diag([rng.uniform(50, 3_000)] * 3 + [30.0] * 3)
            cov = root.T @ root + np.eye(6)
            packed = tuple(float(cov[r, c]) for r in range(6) for c in range(r, 6))
            dt_s = rng.uniform(-60.0, 60.0)
            base = track_report(1, T0 + round((t_s + dt_s) * NS_PER_S), flown_s=t_s + dt_s)
            moved = tuple(float(p) for p in np.array(base.pos) + rng.normal(0.0, 2_000.0, 3))
            reports.append(msgspec.structs.replace(base, pos=moved, cov=packed))
        a, b = reports
        if surely_gated(a, b):
            said_yes += 1
            distance2 = track_distance2(a, b)
            assert distance2 is not None
            assert distance2 <= GATE_CHI2_3DOF
    assert said_yes > 10  # the bound is not vacuous


def test_the_association_bench_runs_small() -> None:
    value, events = per_report_us(20, 1)
    assert value > 0.0
    assert events == 20


def test_the_trackless_bench_runs_small_and_joins_every_prediction() -> None:
    """20 missiles in 4 clusters: each of JPN's trackless contributions joins ROK's event
    of its missile (one event per missile)."""
    value, events = trackless_us(20, 1)
    assert value > 0.0
    assert events == 20
