"""The national reporter: which reports one track's estimates give rise to."""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
import pytest

from warnlink.estimation.reporter import TrackReporter, day_start_ns
from warnlink.model import (
    Ellipse,
    EventStatus,
    ImpactPrediction,
    LaunchReport,
    Payload,
    RangeClass,
    Status,
    TrackReport,
)
from warnlink.model.covariance import pack_covariance, unpack_covariance
from warnlink.model.record import NationalImpact, NationalLaunch, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sim.scenario import Scenario, simulate_party
from warnlink.sim.trajectory import Trajectory
from warnlink.sources.simulation import record_of


def _play(estimates: list[TrackEstimate]) -> list[Payload]:
    reporter = TrackReporter(track_number=1, epoch_ns=0)
    out: list[Payload] = []
    for estimate in estimates:
        out += reporter.on_estimate(estimate)
    return out


@pytest.fixture(scope="module")
def estimates(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> dict[str, list[TrackEstimate]]:
    rng = np.random.default_rng(7)
    trajectories = {default_scenario.launches[0].id: default_trajectory}
    return {p: simulate_party(default_scenario, trajectories, p, rng) for p in ("ROK", "JPN")}


def test_covariance_packs_the_upper_triangle_row_by_row_and_back() -> None:
    cov = np.arange(36, dtype=float).reshape(6, 6)
    cov = cov + cov.T
    packed = pack_covariance(cov)
    np.testing.assert_array_equal(unpack_covariance(packed), cov)
    assert len(packed) == 21
    assert packed[:6] == tuple(float(x) for x in cov[0])
    assert packed[6] == cov[1, 1]  # row 1 starts on the diagonal
    assert packed[-1] == cov[5, 5]


def test_boost_track_gives_a_launch_report_near_the_site(
    estimates: dict[str, list[TrackEstimate]], default_trajectory: Trajectory
) -> None:
    out = _play(estimates["ROK"])
    launches = [p for p in out if isinstance(p, LaunchReport)]
    assert launches, "a track seen in boost reports its launch"
    last = launches[-1]
    assert last.range_class is RangeClass.MRBM  # 900 km lofted: the energy of ~1,130 km
    launch_s = last.launch_time / NS_PER_S
    assert abs(launch_s - default_trajectory.launch_time_s) < 4 * last.launch_time_sigma_s + 1
    assert abs(last.launch_lat - 39.2) < 0.1
    assert abs(last.launch_lon - 125.67) < 0.1


def test_first_launch_report_leaves_with_the_first_track_report_and_then_narrows(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    reporter = TrackReporter(track_number=1, epoch_ns=0)
    first = reporter.on_estimate(estimates["ROK"][0])
    assert estimates["ROK"][0].phase == "boost"
    assert any(isinstance(p, TrackReport) for p in first)
    assert any(isinstance(p, LaunchReport) for p in first)
    radii = [first[-1].launch_aou.semi_major_m] if isinstance(first[-1], LaunchReport) else []
    for estimate in estimates["ROK"][1:]:
        if estimate.phase != "boost":
            break
        radii += [
            p.launch_aou.semi_major_m
            for p in reporter.on_estimate(estimate)
            if isinstance(p, LaunchReport)
        ]
    assert len(radii) >= 2
    assert radii == sorted(radii, reverse=True)


def test_track_after_burnout_backtracks_its_launch(
    estimates: dict[str, list[TrackEstimate]], default_trajectory: Trajectory
) -> None:
    out = _play([e for e in estimates["JPN"] if e.phase != "boost"])
    (first_launch, *_) = [p for p in out if isinstance(p, LaunchReport)]
    launch_s = first_launch.launch_time / NS_PER_S
    assert abs(launch_s - default_trajectory.launch_time_s) < 2.5 * first_launch.launch_time_sigma_s
    assert first_launch.launch_aou.semi_major_m >= 20_000.0  # says it is coarse


def test_impact_predictions_are_throttled_and_status_follows_time(
    estimates: dict[str, list[TrackEstimate]], default_trajectory: Trajectory
) -> None:
    reporter = TrackReporter(track_number=1, epoch_ns=0, ipp_interval_s=5.0)
    out: list[Payload] = []
    for estimate in estimates["ROK"]:
        out += reporter.on_estimate(estimate)
    ipps = [p for p in out if isinstance(p, ImpactPrediction)]
    epochs_s = [p.epoch / NS_PER_S for p in ipps]
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(epochs_s))
    assert isinstance(out[0], EventStatus)
    assert out[0].status is Status.FLYING
    assert reporter.on_time(ipps[-1].impact_time - NS_PER_S) == []
    (impacted,) = reporter.on_time(ipps[-1].impact_time + NS_PER_S)
    assert isinstance(impacted, EventStatus)
    assert impacted.status is Status.IMPACTED
    assert reporter.on_time(ipps[-1].impact_time + 100 * NS_PER_S) == []


def test_a_track_that_never_becomes_ballistic_is_reported_lost(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    boost_only = [e for e in estimates["ROK"] if e.phase == "boost"][:2]
    reporter = TrackReporter(track_number=1, epoch_ns=0, lost_after_s=60.0)
    for estimate in boost_only:
        reporter.on_estimate(estimate)
    last_ns = round(boost_only[-1].time_s * NS_PER_S)
    assert reporter.on_time(last_ns + 59 * NS_PER_S) == []
    (lost,) = reporter.on_time(last_ns + 60 * NS_PER_S)
    assert isinstance(lost, EventStatus)
    assert lost.status is Status.LOST


def test_a_track_that_falls_silent_before_its_predicted_impact_is_reported_lost(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    midcourse = [e for e in estimates["ROK"] if e.phase != "boost"][:20]
    reporter = TrackReporter(track_number=1, epoch_ns=0, lost_after_s=60.0)
    out: list[Payload] = []
    for estimate in midcourse:
        out += reporter.on_estimate(estimate)
    (*_, ipp) = [p for p in out if isinstance(p, ImpactPrediction)]
    deleted_ns = round(midcourse[-1].time_s * NS_PER_S) + 60 * NS_PER_S
    assert deleted_ns < ipp.impact_time  # the track ends well before the missile lands
    assert reporter.on_time(deleted_ns - 1) == []
    (lost,) = reporter.on_time(deleted_ns)
    assert isinstance(lost, EventStatus)
    assert lost.status is Status.LOST
    assert lost.epoch == deleted_ns
    assert reporter.on_time(ipp.impact_time + NS_PER_S) == []  # never claimed impacted


def test_a_track_reported_lost_that_is_seen_again_is_flying_again(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    """A source back from an outage, or catching up from old states faster than the
    node ticks: its next estimates bring the track back, never left lost."""
    first, late, next_, *_, later = [e for e in estimates["ROK"] if e.phase != "boost"][:30]
    lost_after_s = (late.time_s + next_.time_s) / 2 - first.time_s
    reporter = TrackReporter(track_number=1, epoch_ns=0, lost_after_s=lost_after_s)
    reporter.on_estimate(first)
    (lost,) = reporter.on_time(now := round((first.time_s + lost_after_s) * NS_PER_S))
    assert lost == EventStatus(trk_id=1, epoch=now, status=Status.LOST)
    # Older than the lost word: flying again as of that word, which it must not predate.
    (again, *_) = reporter.on_estimate(late)
    assert again == EventStatus(trk_id=1, epoch=now, status=Status.FLYING)
    assert not any(isinstance(p, EventStatus) for p in reporter.on_estimate(next_))
    (lost,) = reporter.on_time(now := round((next_.time_s + lost_after_s) * NS_PER_S))
    assert isinstance(lost, EventStatus)
    assert lost.status is Status.LOST
    assert not any(isinstance(p, EventStatus) for p in reporter.on_estimate(next_))  # not newer
    assert later.time_s * NS_PER_S > now
    (again, *_) = reporter.on_estimate(later)  # newer than the lost word: as of itself
    assert again == EventStatus(
        trk_id=1, epoch=round(later.time_s * NS_PER_S), status=Status.FLYING
    )


def _records(estimates: list[TrackEstimate], **kw: object) -> list[SourceRecord]:
    records = [record_of(e, T_EPOCH) for e in estimates]
    return [msgspec.structs.replace(r, **kw) for r in records] if kw else records


T_EPOCH = 1_800_000_000 * NS_PER_S


def _feed(records: list[SourceRecord]) -> list[Payload]:
    reporter = TrackReporter(track_number=3, epoch_ns=day_start_ns(records[0].epoch_ns))
    out: list[Payload] = []
    for record in records:
        out += reporter.on_record(record)
    return out


def test_records_give_the_reports_their_estimates_give(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    """A record is an estimate in absolute UTC: the same reports, at the same times."""
    by_estimate = TrackReporter(track_number=3, epoch_ns=T_EPOCH)
    expected: list[Payload] = []
    for estimate in estimates["ROK"]:
        expected += by_estimate.on_estimate(estimate)
    got = _feed(_records(estimates["ROK"]))
    assert [type(p) for p in got] == [type(p) for p in expected]
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, ImpactPrediction) and isinstance(b, ImpactPrediction):
            assert abs(a.impact_time - b.impact_time) <= 1
            assert a.impact_lat == pytest.approx(b.impact_lat, abs=1e-9)


def test_a_national_launch_and_impact_are_shared_instead_of_derived(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    launch = NationalLaunch(
        lat_deg=39.0, lon_deg=125.5, time_ns=T_EPOCH, time_sigma_s=1.5, aou=Ellipse(900, 900, 0)
    )
    impact = NationalImpact(
        lat_deg=40.4,
        lon_deg=136.1,
        time_ns=T_EPOCH + 600 * NS_PER_S,
        time_sigma_s=2.0,
        aou=Ellipse(3000, 1000, 80),
        confidence=0.9,
    )
    records = _records(estimates["ROK"], launch=launch, impact=impact)
    out = _feed(records)
    launches = [p for p in out if isinstance(p, LaunchReport)]
    impacts = [p for p in out if isinstance(p, ImpactPrediction)]
    assert launches
    assert all(p.launch_lat == 39.0 and p.launch_time == T_EPOCH for p in launches)
    assert len({(p.launch_lat, p.range_class) for p in launches}) == len(launches)  # no repeats
    assert len(impacts) == 1  # unchanged: sent once
    assert (impacts[0].impact_lat, impacts[0].impact_aou) == (40.4, Ellipse(3000, 1000, 80))
    derived = _feed(_records(estimates["ROK"]))
    assert {p.impact_lat for p in derived if isinstance(p, ImpactPrediction)} != {40.4}


def test_a_record_without_covariance_is_reported_without_one_and_still_predicted(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    out = _feed(_records([e for e in estimates["JPN"] if e.phase != "boost"][:12], cov=None))
    tracks = [p for p in out if isinstance(p, TrackReport)]
    assert tracks
    assert all(t.cov is None for t in tracks)
    (first, *_) = [p for p in out if isinstance(p, ImpactPrediction)]
    assert first.impact_aou.semi_major_m > 5_000  # the assumed 1 km / 50 m/s says so


def test_a_record_that_says_lost_reports_the_track_lost_at_once(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    records = _records(estimates["ROK"][:5])
    records[-1] = msgspec.structs.replace(records[-1], lost=True)
    out = _feed(records)
    assert isinstance(out[-1], EventStatus)
    assert (out[-1].status, out[-1].epoch) == (Status.LOST, records[-1].epoch_ns)


def test_a_semi_definite_covariance_is_reported_positive_definite(
    estimates: dict[str, list[TrackEstimate]],
) -> None:
    """A source may send a singular covariance (the checks take semi-definite ones); the
    report must still carry one receivers can invert."""
    singular = np.diag([250.0**2] * 3 + [0.0] * 3)  # the velocity given exactly
    records = _records([e for e in estimates["JPN"] if e.phase != "boost"][:3])
    records = [msgspec.structs.replace(r, cov=pack_covariance(singular)) for r in records]
    out = _feed(records)
    tracks = [p for p in out if isinstance(p, TrackReport)]
    assert len(tracks) == 3
    for report in tracks:
        assert report.cov is not None
        cov = unpack_covariance(report.cov)
        np.linalg.cholesky(cov)  # raises if not positive definite
        assert np.allclose(cov, singular, atol=1e-5)
