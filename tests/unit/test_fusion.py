"""Covariance intersection, statistical gating, and splitting a wrong association."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import T0, envelope, impact, track
from warnlink.errors import LabelError
from warnlink.fusion.covariance_intersection import intersect, intersect_pair
from warnlink.fusion.gating import GATE_CHI2_3DOF, extrapolate, state_of, track_distance2
from warnlink.fusion.picture import Picture
from warnlink.model import Ellipse, Phase, SecurityLabel, TrackReport
from warnlink.model.time import NS_PER_S
from warnlink.sim.trajectory import Trajectory

PARTIES = ("JPN", "ROK", "USA")

KM_COV = tuple({0: 1e6, 6: 1e6, 11: 1e6, 15: 1e4, 18: 1e4, 20: 1e4}.get(i, 0.0) for i in range(21))


def _spd(values: list[float]) -> np.ndarray:
    a = np.array(values).reshape(3, 3)
    return a @ a.T + 0.1 * np.eye(3)


matrices = st.lists(st.floats(-10, 10), min_size=9, max_size=9).map(_spd)


@settings(max_examples=200)
@given(matrices, matrices, st.floats(-1, 1))
def test_ci_is_consistent_for_any_correlation(pa: np.ndarray, pb: np.ndarray, rho: float) -> None:
    """For errors of any cross-correlation, CI's covariance bounds the true error covariance."""
    _, cov, w = intersect_pair(np.zeros(3), pa, np.zeros(3), pb)
    # True error covariance of the fused estimate for a cross-covariance rho * sqrt(Pa) sqrt(Pb).
    ra, rb = np.linalg.cholesky(pa), np.linalg.cholesky(pb)
    cross = rho * ra @ rb.T
    ia, ib = np.linalg.inv(pa), np.linalg.inv(pb)
    gain_a, gain_b = cov @ (w * ia), cov @ ((1 - w) * ib)
    true = gain_a @ pa @ gain_a.T + gain_b @ pb @ gain_b.T + gain_a @ cross @ gain_b.T
    true = true + (gain_a @ cross @ gain_b.T).T
    assert np.linalg.eigvalsh(cov - true).min() > -1e-6 * np.trace(cov)
    assert 0.0 <= w <= 1.0


def test_ci_prefers_the_better_estimate_and_never_beats_either() -> None:
    good, poor = np.eye(2), 100 * np.eye(2)
    mean, cov = intersect([np.zeros(2), np.ones(2)], [good, poor])
    np.testing.assert_allclose(mean, np.zeros(2), atol=1e-6)
    assert np.trace(cov) <= np.trace(good) + 1e-9


def test_extrapolation_follows_the_flight(default_trajectory: Trajectory) -> None:
    t0 = default_trajectory.burnout_time_s + 60.0
    start = default_trajectory.state_at(t0)
    for dt in (10.0, 30.0, 60.0, -30.0):
        mean, cov = extrapolate(start, np.eye(6), dt)
        truth = default_trajectory.state_at(t0 + dt)
        error = np.linalg.norm(mean[:3] - truth[:3])
        assert error < 3.0 * np.sqrt(np.trace(cov[:3, :3]) / 3.0), (dt, error)


def test_gate_accepts_the_same_missile_and_refuses_another() -> None:
    a = msgspec.structs.replace(track(), cov=KM_COV)
    near = msgspec.structs.replace(a, pos=(a.pos[0] + 1500.0, a.pos[1], a.pos[2]))
    far = msgspec.structs.replace(a, pos=(a.pos[0] + 15_000.0, a.pos[1], a.pos[2]))
    assert track_distance2(a, a) == pytest.approx(0.0)
    assert track_distance2(a, near) <= GATE_CHI2_3DOF  # type: ignore[operator]
    assert track_distance2(a, far) > GATE_CHI2_3DOF  # type: ignore[operator]
    later = msgspec.structs.replace(a, epoch=a.epoch + 61 * NS_PER_S)
    assert track_distance2(a, later) is None


def test_withheld_covariance_gets_a_default() -> None:
    _, cov = state_of(track(cov=False))
    assert cov[0, 0] == pytest.approx(5_000.0**2)


def _at(
    trk_id: int, originator: str, east_m: float, *, seq: int, t_s: float, phase: Phase
) -> object:
    base: TrackReport = msgspec.structs.replace(
        track(trk_id),
        cov=KM_COV,
        phase=phase,
        epoch=T0 + round(t_s * NS_PER_S),
        vel=(0.0, 0.0, 0.0),
    )
    x, y, z = base.pos
    return envelope(
        msgspec.structs.replace(base, pos=(x + east_m, y, z)), originator=originator, seq=seq
    )


def test_a_wrong_boost_association_is_split_once_ballistic() -> None:
    picture = Picture("USA")
    picture.apply(_at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=Phase.BOOST), T0)  # type: ignore[arg-type]
    picture.apply(_at(4, "JPN", 500.0, seq=1, t_s=0.0, phase=Phase.BOOST), T0)  # type: ignore[arg-type]
    assert len(picture.events) == 1
    # Ballistic now: JPN's track is 40 km from ROK's at the same time: another missile.
    picture.apply(_at(1, "ROK", 0.0, seq=2, t_s=10.0, phase=Phase.MIDCOURSE), T0)  # type: ignore[arg-type]
    picture.apply(_at(4, "JPN", 40_000.0, seq=2, t_s=10.0, phase=Phase.MIDCOURSE), T0)  # type: ignore[arg-type]
    assert len(picture.events) == 2
    assert any(event.split_off for event in picture.events.values())


def test_event_fused_state_uses_every_recent_track() -> None:
    picture = Picture("USA")
    picture.apply(_at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=Phase.MIDCOURSE), T0)  # type: ignore[arg-type]
    picture.apply(_at(4, "JPN", 800.0, seq=1, t_s=2.0, phase=Phase.MIDCOURSE), T0)  # type: ignore[arg-type]
    (event,) = picture.events.values()
    fused = event.fused_state()
    assert fused is not None
    assert fused.originators == ("JPN", "ROK")
    assert fused.epoch == T0 + 2 * NS_PER_S
    single = 1e6  # each input's position variance before extrapolation
    assert np.trace(fused.cov[:3, :3]) / 3.0 <= single * 1.01


def test_two_boost_pairs_swapped_are_put_right_once_ballistic() -> None:
    """A salvo: ROK and USA each track missiles A (east 0) and B (east 40 km).

    In boost, USA's B is nearer ROK's A and the pairs form swapped; once ballistic, each
    swapped event is taken apart and its tracks associated again, so nothing stays wrong.
    JPN's tracks are not released to this party, only its impact predictions: JPN's
    prediction for B joins the event holding USA's prediction for B, and must follow it
    when that event is taken apart.
    """
    picture = Picture("ROK")
    boost, mid = Phase.BOOST, Phase.MIDCOURSE
    point_b = msgspec.structs.replace(impact(), impact_lon=impact().impact_lon + 0.8)  # ~68 km
    for message in (
        _at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=boost),
        _at(2, "ROK", 3_000.0, seq=2, t_s=0.0, phase=boost),
        _at(2, "USA", 100.0, seq=1, t_s=0.0, phase=boost),
        _at(1, "USA", 2_900.0, seq=2, t_s=0.0, phase=boost),
        envelope(msgspec.structs.replace(impact(), trk_id=1), originator="ROK", seq=3),
        envelope(msgspec.structs.replace(point_b, trk_id=2), originator="USA", seq=3),
        envelope(msgspec.structs.replace(point_b, trk_id=7), originator="JPN", seq=1),
    ):
        picture.apply(message, T0)  # type: ignore[arg-type]
    swapped = {frozenset(e.contributions) for e in picture.events.values()}
    assert frozenset({("ROK", 1), ("USA", 2), ("JPN", 7)}) in swapped
    for message in (
        _at(1, "ROK", 0.0, seq=4, t_s=10.0, phase=mid),
        _at(2, "ROK", 40_000.0, seq=5, t_s=10.0, phase=mid),
        _at(2, "USA", 40_100.0, seq=4, t_s=10.0, phase=mid),
        _at(1, "USA", 100.0, seq=5, t_s=10.0, phase=mid),
    ):
        picture.apply(message, T0)  # type: ignore[arg-type]
    groups = {frozenset(e.contributions) for e in picture.events.values()}
    assert groups == {
        frozenset({("ROK", 1), ("USA", 1)}),
        frozenset({("ROK", 2), ("USA", 2), ("JPN", 7)}),
    }


def _crossing_report(
    trk_id: int, originator: str, offset_m: np.ndarray, vel: np.ndarray, seq: int, t_s: float
) -> object:
    base = track(trk_id)
    pos = np.array(base.pos) + offset_m
    report = msgspec.structs.replace(
        base,
        pos=tuple(pos.tolist()),
        vel=tuple(vel.tolist()),
        cov=KM_COV,
        epoch=T0 + round(t_s * NS_PER_S),
    )
    return envelope(report, originator=originator, seq=seq)


@pytest.mark.parametrize("seed", range(12))
def test_crossing_tracks_end_in_the_right_events(seed: int) -> None:
    """Missiles A (eastward) and B (northward) cross at t = 5 s; tracks start at t = 4 s.

    Near the crossing the pairs are ambiguous (1 km noise, 2 km apart); as the missiles
    part, any wrong pair stops gating and is put right. Straight-line truth, reports of
    both originators at the same instants, so no extrapolation enters.
    """
    rng = np.random.default_rng(seed)
    velocity = {"A": np.array([2_000.0, 0.0, 0.0]), "B": np.array([0.0, 2_000.0, 0.0])}
    numbers = {("ROK", "A"): 1, ("ROK", "B"): 2, ("USA", "A"): 8, ("USA", "B"): 9}
    picture = Picture("JPN")
    seq = dict.fromkeys(("ROK", "USA"), 0)
    for t_s in np.arange(4.0, 30.0, 2.0):
        for (originator, missile), number in numbers.items():
            seq[originator] += 1
            truth = velocity[missile] * (t_s - 5.0)
            noisy = truth + rng.normal(0.0, 1_000.0, 3)
            message = _crossing_report(
                number, originator, noisy, velocity[missile], seq[originator], t_s
            )
            picture.apply(message, T0)  # type: ignore[arg-type]
    groups = {frozenset(e.contributions) for e in picture.events.values()}
    assert groups == {
        frozenset({("ROK", 1), ("USA", 8)}),
        frozenset({("ROK", 2), ("USA", 9)}),
    }


def test_trackless_reports_that_first_fit_swapped_are_put_right() -> None:
    """JPN's tracks are not released here, only its impact predictions.

    Missiles A and B impact 40 km apart. JPN's first, coarse predictions fit its track 7
    to A and its track 8 to B; sharper ones show that 7 is B and 8 is A. Each holds the
    other's right place, so only a joint re-assignment (a swap) puts them right.
    """
    picture = Picture("ROK")
    point_a = impact()
    point_b = msgspec.structs.replace(point_a, impact_lon=point_a.impact_lon + 0.47)  # ~40 km
    sharp = Ellipse(2_000.0, 1_000.0, 0.0)
    anchors = (
        _at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=Phase.MIDCOURSE),
        envelope(
            msgspec.structs.replace(point_a, trk_id=1, impact_aou=sharp), originator="ROK", seq=2
        ),
        _at(2, "ROK", 300_000.0, seq=3, t_s=0.0, phase=Phase.MIDCOURSE),
        envelope(
            msgspec.structs.replace(point_b, trk_id=2, impact_aou=sharp), originator="ROK", seq=4
        ),
    )
    for message in anchors:
        picture.apply(message, T0)  # type: ignore[arg-type]
    early = (
        envelope(msgspec.structs.replace(point_a, trk_id=7), originator="JPN", seq=1),
        envelope(msgspec.structs.replace(point_b, trk_id=8), originator="JPN", seq=2),
    )
    for message in early:
        picture.apply(message, T0)
    groups = {frozenset(e.contributions) for e in picture.events.values()}
    assert groups == {frozenset({("ROK", 1), ("JPN", 7)}), frozenset({("ROK", 2), ("JPN", 8)})}
    later = T0 + 10 * NS_PER_S
    for seq, (trk_id, point) in enumerate(((7, point_b), (8, point_a)), start=3):
        sharper = msgspec.structs.replace(point, trk_id=trk_id, epoch=later, impact_aou=sharp)
        picture.apply(envelope(sharper, originator="JPN", seq=seq), T0)
    groups = {frozenset(e.contributions) for e in picture.events.values()}
    assert groups == {frozenset({("ROK", 1), ("JPN", 8)}), frozenset({("ROK", 2), ("JPN", 7)})}


def test_trackless_reports_that_came_first_join_the_missile_when_it_arrives() -> None:
    """JPN's impact prediction reaches ROK before anything of ROK's own: it stands alone
    until ROK's track and prediction of the same missile arrive, then joins them, though
    JPN sends nothing more (seen under `up` when the relay's burst came first)."""
    picture = Picture("ROK")
    point = impact()
    sharp = Ellipse(2_000.0, 1_000.0, 0.0)
    jpn = envelope(msgspec.structs.replace(point, trk_id=7), originator="JPN", seq=1)
    picture.apply(jpn, T0)
    own = (
        _at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=Phase.MIDCOURSE),
        envelope(
            msgspec.structs.replace(point, trk_id=1, impact_aou=sharp), originator="ROK", seq=2
        ),
    )
    for message in own:
        picture.apply(message, T0)  # type: ignore[arg-type]
    groups = {frozenset(e.contributions) for e in picture.events.values()}
    assert groups == {frozenset({("ROK", 1), ("JPN", 7)})}


def test_fused_state_carries_the_meet_and_is_computed_per_recipient() -> None:
    """USA fuses ROK's track (released to JPN and USA) with JPN's (released to USA only).

    The product may go to USA and to JPN (its own track, and ROK released to JPN), not
    to ROK; computed for ROK it uses only ROK's own track, and for a party nobody
    released to, nothing.
    """
    picture = Picture("USA")
    rok = _at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=Phase.MIDCOURSE)
    jpn = msgspec.structs.replace(
        _at(4, "JPN", 800.0, seq=1, t_s=2.0, phase=Phase.MIDCOURSE),  # type: ignore[type-var]
        label=SecurityLabel("UNCLASSIFIED", ("USA",)),
    )
    picture.apply(rok, T0)  # type: ignore[arg-type]
    picture.apply(jpn, T0)
    (event,) = picture.events.values()
    fused = event.fused_state()
    assert fused is not None
    assert fused.originators == ("JPN", "ROK")
    assert fused.label.rel_to == ("JPN", "USA")
    for_jpn = event.fused_state(for_party="JPN")
    assert for_jpn is not None
    assert for_jpn.originators == ("JPN", "ROK")
    assert for_jpn.label.rel_to == ("JPN", "USA")
    for_rok = event.fused_state(for_party="ROK")
    assert for_rok is not None
    assert for_rok.originators == ("ROK",)
    assert event.fused_state(for_party="AUS") is None


def test_a_track_whose_covariance_is_withheld_is_not_fused_for_that_party() -> None:
    picture = Picture("USA")
    rok = _at(1, "ROK", 0.0, seq=1, t_s=0.0, phase=Phase.MIDCOURSE)
    rok = msgspec.structs.replace(
        rok,  # type: ignore[type-var]
        label=SecurityLabel("UNCLASSIFIED", ("JPN", "USA"), {"cov": ("USA",)}),
    )
    picture.apply(rok, T0)
    (event,) = picture.events.values()
    assert event.fused_state(for_party="JPN") is None
    fused = event.fused_state(for_party="USA")
    assert fused is not None
    assert fused.label.field_rel_to == {"cov": ("ROK", "USA")}


def test_meet_of_labels() -> None:
    a = SecurityLabel("UNCLASSIFIED", ("JPN", "ROK", "USA"), {"sensor": ("USA",)})
    b = SecurityLabel("SECRET", ("JPN", "USA"), {"cov": ("JPN",)})
    met = SecurityLabel.meet([a, b])
    assert met.classification == "SECRET"
    assert met.rel_to == ("JPN", "USA")
    assert met.field_rel_to == {"cov": ("JPN",), "sensor": ("USA",)}
    assert SecurityLabel.meet([a]) == a
    with pytest.raises(LabelError, match="cannot order"):
        SecurityLabel.meet([a, SecurityLabel("NATO SECRET", ("USA",))])
    with pytest.raises(ValueError, match="no labels"):
        SecurityLabel.meet([])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            SecurityLabel,
            st.sampled_from(["UNCLASSIFIED", "SECRET"]),
            st.lists(st.sampled_from(PARTIES), unique=True).map(lambda p: tuple(sorted(p))),
            st.dictionaries(
                st.sampled_from(["cov", "sensor"]),
                st.lists(st.sampled_from(PARTIES), unique=True).map(lambda p: tuple(sorted(p))),
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_meet_releases_nothing_any_source_withholds(labels: list[SecurityLabel]) -> None:
    met = SecurityLabel.meet(labels)
    for party in PARTIES:
        if met.releases_to(party):
            assert all(lb.releases_to(party) for lb in labels)
        for field in ("cov", "sensor"):
            if party in met.field_released_to(field):
                assert all(party in lb.field_released_to(field) for lb in labels)
            else:
                assert any(party not in lb.field_released_to(field) for lb in labels)
