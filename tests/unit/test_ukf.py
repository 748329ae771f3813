"""The UKF batched over tracks gives, track by track, what each track alone gives.

Three tracks of the default flight (the 7-state filter, each from its own start and its
own radar plot) and one 6-state batch, run as one batch and as batches of one
(`ukf.ukf_predict`, `ukf.ukf_update`, as the radar tracker runs them), compared after
several cycles: every mean differs by under
1e-9 of its standard deviation, every covariance entry by under 1e-9 of
sqrt(P_ii P_jj) (rounding differs in the order of the sums, nothing else).
"""

from __future__ import annotations

import numpy as np
import pytest

from warnlink.errors import PhysicsError
from warnlink.estimation.impact import sigma_points
from warnlink.estimation.radar_tracker import initial_state
from warnlink.estimation.ukf import (
    sigma_points_many,
    ukf_predict,
    ukf_predict_many,
    ukf_update,
    ukf_update_many,
)
from warnlink.geo.wgs84 import enu_rotation
from warnlink.sensors.radar import RadarMeasurement
from warnlink.sensors.sensor import Sensor
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import Scenario
from warnlink.sim.trajectory import Trajectory

TOLERANCE = 1e-9


def _close(
    means: np.ndarray, covs: np.ndarray, singles: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """Batch and single-track results equal to `TOLERANCE`, in units of the uncertainty."""
    for mean, cov, (single_mean, single_cov) in zip(means, covs, singles, strict=True):
        sigma = np.sqrt(np.diag(single_cov))
        assert np.max(np.abs(mean - single_mean) / sigma) < TOLERANCE
        assert np.max(np.abs(cov - single_cov) / np.outer(sigma, sigma)) < TOLERANCE


@pytest.fixture(scope="module")
def radar(default_scenario: Scenario) -> Sensor:
    return next(s for s in default_scenario.sensors if s.name == "USA-FBR1")


@pytest.fixture(scope="module")
def plot_runs(default_trajectory: Trajectory, radar: Sensor) -> list[list[RadarMeasurement]]:
    """Three noisy plot sequences of the flight after burnout, same times, other draws."""
    start = default_trajectory.launch_time_s + default_trajectory.burnout_time_s + 1.0
    return [
        [
            p
            for p in radar_measurements(default_trajectory, radar, np.random.default_rng(seed))
            if p.time_s >= start
        ]
        for seed in (1, 2, 3)
    ]


@pytest.mark.parametrize("dim", [7, 6])
def test_batch_equals_single_track_filter(
    plot_runs: list[list[RadarMeasurement]], radar: Sensor, dim: int
) -> None:
    starts = [initial_state(run[0], run[1], radar, radar) for run in plot_runs]
    means = np.stack([m[:dim] for m, _ in starts])
    covs = np.stack([c[:dim, :dim] for _, c in starts])
    singles = [(m, c) for m, c in zip(means, covs, strict=True)]
    site = np.tile(radar.position_ecef_m, (len(plot_runs), 1))
    rotation = np.tile(enu_rotation(radar.lat_deg, radar.lon_deg), (len(plot_runs), 1, 1))
    t = plot_runs[0][1].time_s
    for step in range(2, 8):
        plots = [run[step] for run in plot_runs]
        dt = plots[0].time_s - t
        t = plots[0].time_s
        means, covs = ukf_predict_many(means, covs, dt)
        means, covs, nis = ukf_update_many(
            means,
            covs,
            np.stack([p.vector for p in plots]),
            np.stack([p.noise_covariance for p in plots]),
            site,
            rotation,
        )
        for i, plot in enumerate(plots):
            m, c = ukf_predict(*singles[i], dt)
            m, c, single_nis = ukf_update(m, c, plot, radar)
            singles[i] = (m, c)
            assert nis[i] == pytest.approx(single_nis, rel=TOLERANCE)
    _close(means, covs, singles)


def test_sigma_points_of_a_degenerate_covariance_match_the_single_track_ones() -> None:
    means = np.array([[6.4e6, 0, 0, 0, 7e3, 0], [6.5e6, 1e3, 0, 10.0, 7e3, 0]])
    covs = np.stack([np.diag([1e4, 1e4, 1e4, 1.0, 1.0, 1.0]), np.zeros((6, 6))])
    points, weights = sigma_points_many(means, covs)
    for i in range(2):
        single, single_weights = sigma_points(means[i], covs[i])
        np.testing.assert_array_equal(points[i], single)
        np.testing.assert_array_equal(weights, single_weights)


def test_ill_shaped_input_is_refused() -> None:
    with pytest.raises(PhysicsError):
        ukf_predict_many(np.zeros((2, 5)), np.zeros((2, 5, 5)), 1.0)
    with pytest.raises(PhysicsError):
        ukf_predict_many(np.zeros((2, 6)), np.eye(6)[None].repeat(2, axis=0), -1.0)
