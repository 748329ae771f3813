"""The 7-state (drag-estimating) radar filter and impact prediction on a re-entry with drag.

Truth: the default flight, whose re-entry body has the generic ballistic coefficient of
10,000 kg/m^2; the radar is USA-FBR1 (2 s revisit), which follows it down to ~16 km.
"""

from __future__ import annotations

import numpy as np
import pytest

from warnlink.estimation.impact import predict_impact
from warnlink.estimation.radar_tracker import track_ballistic
from warnlink.estimation.ukf import DEFAULT_KAPPA_PRIOR, ukf_predict, ukf_update
from warnlink.geo.wgs84 import ecef_to_lla, surface_distance_m
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sensors.radar import RadarMeasurement
from warnlink.sensors.sensor import Sensor
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import Scenario
from warnlink.sim.trajectory import Trajectory

RUNS = 8
CHI2_48_95 = (31.55, 69.02)
"""2.5 % and 97.5 % points of chi-square with 6 x 8 = 48 degrees of freedom."""
NEES_BOUNDS = (CHI2_48_95[0] / RUNS, CHI2_48_95[1] / RUNS)
"""95 % interval of an 8-run average of chi2(6), [3.94, 8.63]; conservative for the grand
mean over runs and times (see tests/unit/test_radar_tracker.py)."""


@pytest.fixture(scope="module")
def radar(default_scenario: Scenario) -> Sensor:
    return next(s for s in default_scenario.sensors if s.name == "USA-FBR1")


def _start_s(trajectory: Trajectory) -> float:
    return trajectory.launch_time_s + trajectory.burnout_time_s + 1.0


def _plots(trajectory: Trajectory, radar: Sensor, run: int) -> list[RadarMeasurement]:
    return radar_measurements(trajectory, radar, np.random.default_rng(100 + run))


def _truth(trajectory: Trajectory, times: np.ndarray) -> np.ndarray:
    return trajectory.states_at(times - trajectory.launch_time_s)


def _nees(trajectory: Trajectory, times: np.ndarray, means: np.ndarray, covs: list) -> np.ndarray:
    errors = means - _truth(trajectory, times)
    return np.array([e @ np.linalg.solve(c, e) for e, c in zip(errors, covs, strict=True)])


def _vacuum_filter(
    trajectory: Trajectory, plots: list[RadarMeasurement], radar: Sensor
) -> tuple[np.ndarray, np.ndarray]:
    """NEES and heights of a 6-state (drag ignored) filter from the tracker's first report."""
    usable = [p for p in plots if p.time_s >= _start_s(trajectory)]
    first = track_ballistic(
        usable[:3], sensors=[radar], track_number=1, party="USA", start_s=0.0, q=0.0
    )[0]
    mean, cov, t = first.state, first.cov, first.time_s
    times, means, covs = [], [], []
    for plot in usable[3:]:
        mean, cov = ukf_predict(mean, cov, plot.time_s - t, 0.0)
        mean, cov, _ = ukf_update(mean, cov, plot, radar)
        t = plot.time_s
        times.append(t)
        means.append(mean)
        covs.append(cov)
    nees = _nees(trajectory, np.array(times), np.array(means), covs)
    _, _, alt = ecef_to_lla(np.array(means)[:, :3])
    return nees, alt


def test_drag_filter_is_consistent_and_ignoring_drag_is_not(
    default_trajectory: Trajectory, radar: Sensor
) -> None:
    # No acceleration noise: with drag in its model the 7-state filter is matched to the
    # truth, so its NEES must be chi-square 6, over the whole flight and in re-entry.
    whole, reentry, vacuum_reentry = [], [], []
    for run in range(RUNS):
        plots = _plots(default_trajectory, radar, run)
        reports = track_ballistic(
            plots,
            sensors=[radar],
            track_number=1,
            party="USA",
            start_s=_start_s(default_trajectory),
            q=0.0,
        )
        times = np.array([r.time_s for r in reports])
        nees = _nees(
            default_trajectory,
            times,
            np.array([r.state for r in reports]),
            [r.cov for r in reports],
        )
        _, _, alt = ecef_to_lla(np.array([r.pos_ecef_m for r in reports]))
        assert np.min(alt) < 30e3  # the radar sees the re-entry
        whole.append(nees.mean())
        reentry.append(nees[alt < 80e3].mean())
        vacuum_nees, vacuum_alt = _vacuum_filter(default_trajectory, plots, radar)
        vacuum_reentry.append(vacuum_nees[vacuum_alt < 80e3].mean())
    assert NEES_BOUNDS[0] < np.mean(whole) < NEES_BOUNDS[1], whole
    assert NEES_BOUNDS[0] / 2 < np.mean(reentry) < NEES_BOUNDS[1], reentry
    assert np.mean(vacuum_reentry) > 100 * NEES_BOUNDS[1]  # drag ignored: badly over-confident


def _reports(trajectory: Trajectory, radar: Sensor, run: int) -> list[TrackEstimate]:
    return track_ballistic(
        _plots(trajectory, radar, run),
        sensors=[radar],
        track_number=1,
        party="USA",
        start_s=_start_s(trajectory),
    )


def test_ballistic_coefficient_stays_at_prior_high_and_converges_in_reentry(
    default_trajectory: Trajectory, radar: Sensor
) -> None:
    truth = default_trajectory.spec.ballistic_coefficient_kg_m2
    assert truth is not None
    for run in range(4):
        reports = _reports(default_trajectory, radar, run)
        _, _, alt = ecef_to_lla(np.array([r.pos_ecef_m for r in reports]))
        high = [r for r, h in zip(reports, alt, strict=True) if h > 100e3]
        assert all(r.ballistic_coefficient_kg_m2 is not None for r in high)
        betas = np.array([r.ballistic_coefficient_kg_m2 for r in high], dtype=float)
        np.testing.assert_allclose(betas, 1.0 / DEFAULT_KAPPA_PRIOR, rtol=0.01)
        last = reports[-1]
        assert last.ballistic_coefficient_kg_m2 is not None
        assert last.ballistic_coefficient_sigma_kg_m2 is not None
        assert last.ballistic_coefficient_sigma_kg_m2 < 0.15 * truth
        assert abs(last.ballistic_coefficient_kg_m2 - truth) < (
            3.0 * last.ballistic_coefficient_sigma_kg_m2
        )


def test_impact_prediction_with_estimated_drag_beats_vacuum(
    default_trajectory: Trajectory, radar: Sensor
) -> None:
    tr = default_trajectory
    impact_s = tr.launch_time_s + tr.impact_time_s
    with_drag, vacuum = [], []
    for run in range(3):
        for r in _reports(tr, radar, run)[-40::4]:  # the last 80 s: re-entry
            drag = predict_impact(
                r.pos_ecef_m,
                r.vel_ecef_mps,
                r.cov,
                ballistic_coefficient_kg_m2=r.ballistic_coefficient_kg_m2,
                ballistic_coefficient_sigma_kg_m2=r.ballistic_coefficient_sigma_kg_m2,
            )
            plain = predict_impact(r.pos_ecef_m, r.vel_ecef_mps, r.cov)
            with_drag.append(abs(r.time_s + drag.time_from_state_s - impact_s))
            vacuum.append(abs(r.time_s + plain.time_from_state_s - impact_s))
            assert drag.contains(tr.impact_lat_deg, tr.impact_lon_deg, probability=0.999)
    assert np.mean(with_drag) < 0.6 * np.mean(vacuum)


def test_impact_prediction_without_beta_is_vacuum_and_with_beta_flies_drag(
    default_trajectory: Trajectory,
) -> None:
    tr = default_trajectory
    s = tr.state_at(tr.impact_time_s - 60.0)
    cov = np.eye(6) * 1e-6
    vacuum = predict_impact(s[:3], s[3:], cov)
    exact = predict_impact(s[:3], s[3:], cov, ballistic_coefficient_kg_m2=10_000.0)
    unsure = predict_impact(
        s[:3],
        s[3:],
        cov,
        ballistic_coefficient_kg_m2=10_000.0,
        ballistic_coefficient_sigma_kg_m2=3_000.0,
    )
    assert exact.time_from_state_s == pytest.approx(60.0, abs=0.2)
    assert vacuum.time_from_state_s < 60.0 - 1.0  # no air: it falls faster
    miss = surface_distance_m(exact.lat_deg, exact.lon_deg, tr.impact_lat_deg, tr.impact_lon_deg)
    assert float(miss) < 20.0
    assert unsure.time_sigma_s > 10 * exact.time_sigma_s  # beta's doubt is carried
