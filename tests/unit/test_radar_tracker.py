"""Radar plots, the ballistic unscented Kalman filter and the radar tracker (default flight)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from warnlink.errors import PhysicsError
from warnlink.estimation.radar_tracker import MAX_COAST_S, split_at_coasts, track_ballistic
from warnlink.estimation.ukf import ukf_predict, ukf_update
from warnlink.geo.wgs84 import A_M, lla_to_ecef
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sensors.radar import (
    RadarMeasurement,
    measurement_function,
    measurement_to_ecef,
    wrap_angle_rad,
)
from warnlink.sensors.sensor import Sensor
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import Scenario
from warnlink.sim.trajectory import Trajectory

RUNS = 20
CHI2_120_95 = (91.57, 152.21)
"""2.5 % and 97.5 % points of chi-square with 6 x 20 = 120 degrees of freedom."""
NEES_BOUNDS = (CHI2_120_95[0] / RUNS, CHI2_120_95[1] / RUNS)
"""95 % interval of a 20-run average of chi2(6): [4.58, 7.61]. The grand mean over runs and
times is tested against it: averaging correlated values never widens the spread, so the
interval of one instant's average is conservative for the mean over all instants."""
RMSE_AFTER_60_S_M = 150.0
"""Position RMSE bound for ROK-GR1 (50 m, 0.5 mrad, 4 s) from 60 s after initiation on."""


def _radar(scenario: Scenario, name: str) -> Sensor:
    return next(s for s in scenario.sensors if s.name == name)


def _start_s(trajectory: Trajectory) -> float:
    return trajectory.launch_time_s + trajectory.burnout_time_s + 1.0


def _errors(trajectory: Trajectory, reports: list[TrackEstimate]) -> np.ndarray:
    since_launch = np.array([r.time_s for r in reports]) - trajectory.launch_time_s
    return np.array([r.state for r in reports]) - trajectory.states_at(since_launch)


def _monte_carlo(
    scenario: Scenario, trajectory: Trajectory, q: float | None
) -> list[tuple[list[TrackEstimate], np.ndarray]]:
    radar = _radar(scenario, "ROK-GR1")
    out = []
    for run in range(RUNS):
        plots = radar_measurements(trajectory, radar, np.random.default_rng(run))
        extra = {} if q is None else {"q": q}
        reports = track_ballistic(
            plots,
            sensors=[radar],
            track_number=7,
            party="ROK",
            start_s=_start_s(trajectory),
            **extra,
        )
        out.append((reports, _errors(trajectory, reports)))
    return out


def test_measurement_function_on_known_geometry() -> None:
    site = Sensor("EQ", "X", "radar", 0.0, 0.0, 0.0, 1000.0, 0.0, 1.0, 1.0, 1.0, 0.0)
    theta = math.radians(1.0)
    targets = np.concatenate(
        [
            lla_to_ecef(0.0, 1.0, 0.0)[None, :],  # due east on the equator
            lla_to_ecef(1.0, 0.0, 0.0)[None, :],  # due north on the meridian
            lla_to_ecef(0.0, 0.0, 100e3)[None, :],  # straight up
        ]
    )
    z = measurement_function(targets, site)
    # The equator is a circle of radius a: chord 2 a sin(theta/2), dip theta/2 below horizontal.
    assert z[0] == pytest.approx([2 * A_M * math.sin(theta / 2), math.pi / 2, -theta / 2])
    assert z[1, 1] == pytest.approx(0.0, abs=1e-12)
    assert z[1, 0] == pytest.approx(np.linalg.norm(targets[1] - site.position_ecef_m))
    assert z[1, 2] == pytest.approx(-theta / 2, abs=1e-6)  # the meridian is nearly circular
    assert z[2, 0] == pytest.approx(100e3)
    assert z[2, 2] == pytest.approx(math.pi / 2)
    plot = RadarMeasurement(0.0, "EQ", *z[0], 1.0, 1e-3)
    assert measurement_to_ecef(plot, site) == pytest.approx(targets[0], abs=1e-6)


def test_wrap_angle() -> None:
    wrapped = wrap_angle_rad(np.array([math.pi, -math.pi, 3 * math.pi / 2, 0.1 - 2 * math.pi]))
    assert wrapped == pytest.approx([math.pi, math.pi, -math.pi / 2, 0.1])


def test_update_across_azimuth_wrap(default_scenario: Scenario) -> None:
    radar = _radar(default_scenario, "ROK-GR1")
    # Due south of the radar, a hair west: azimuth just above -pi.
    pos = lla_to_ecef(35.0, radar.lon_deg - 1e-4, 100e3)
    state = np.concatenate([pos, [1000.0, 0.0, -500.0]])
    cov = np.diag([1e6, 1e6, 1e6, 1e4, 1e4, 1e4])
    r, az, el = measurement_function(state[None, :], radar)[0]
    assert az < -math.pi + 1e-3
    plot_az = float(wrap_angle_rad(np.array(az - 2e-4)))
    assert plot_az > math.pi - 1e-3  # the plot lies on the other side of the cut
    plot = RadarMeasurement(10.0, radar.name, r, plot_az, el, 50.0, 5e-4)
    mean, new_cov, nis = ukf_update(state, cov, plot, radar)
    assert nis < 1.0  # a 2e-4 rad innovation, not 2 pi
    assert np.linalg.norm(mean[:3] - pos) < 100.0
    assert np.all(np.linalg.eigvalsh(new_cov) > 0.0)
    assert np.trace(new_cov[:3, :3]) < np.trace(cov[:3, :3])


def test_predict_follows_ballistic_truth(default_trajectory: Trajectory) -> None:
    t0 = default_trajectory.burnout_time_s + 20.0
    state = default_trajectory.state_at(t0)
    mean, cov = ukf_predict(state, np.diag([1e4] * 3 + [1e2] * 3), 30.0, q=0.0)
    assert mean[:3] == pytest.approx(default_trajectory.state_at(t0 + 30.0)[:3], abs=5.0)
    assert np.trace(cov[:3, :3]) > 3e4  # velocity uncertainty spreads the position
    with pytest.raises(PhysicsError):
        ukf_predict(state, cov, -1.0)


def test_radar_plots_follow_schedule_and_noise(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    radar = _radar(default_scenario, "ROK-GR1")
    plots = radar_measurements(default_trajectory, radar, np.random.default_rng(3))
    times = np.array([p.time_s for p in plots])
    assert len(plots) > 100
    assert np.allclose(times / radar.update_s, np.round(times / radar.update_s))
    truth = default_trajectory.states_at(times - default_trajectory.launch_time_s)
    residual = np.array([p.vector for p in plots]) - measurement_function(truth, radar)
    residual[:, 1] = wrap_angle_rad(residual[:, 1])
    sigma = residual.std(axis=0)
    assert sigma[0] == pytest.approx(radar.range_sigma_m, rel=0.2)
    assert sigma[1:] == pytest.approx([radar.angle_sigma_mrad * 1e-3] * 2, rel=0.2)
    with pytest.raises(PhysicsError):
        radar_measurements(
            default_trajectory, _radar(default_scenario, "USA-IR1"), np.random.default_rng(0)
        )


def test_nees_consistent_with_chi2_6(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    # The 7-state filter models the flight's drag: matched, it needs no process noise.
    runs = _monte_carlo(default_scenario, default_trajectory, q=0.0)
    nees = np.array(
        [
            [e @ np.linalg.solve(r.cov, e) for r, e in zip(reports, errors, strict=True)]
            for reports, errors in runs
        ]
    )
    assert NEES_BOUNDS[0] < nees.mean() < NEES_BOUNDS[1]


def test_default_process_noise_is_conservative_and_accurate(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    runs = _monte_carlo(default_scenario, default_trajectory, q=None)
    nees = np.concatenate(
        [[e @ np.linalg.solve(r.cov, e) for r, e in zip(rs, es, strict=True)] for rs, es in runs]
    )
    assert nees.mean() < NEES_BOUNDS[1]  # never over-confident
    late = np.concatenate(
        [es[np.array([r.time_s for r in rs]) >= rs[0].time_s + 60.0, :3] for rs, es in runs]
    )
    rmse = math.sqrt(float(np.mean(np.sum(late**2, axis=1))))
    assert rmse < RMSE_AFTER_60_S_M


def test_tracker_reports(default_scenario: Scenario, default_trajectory: Trajectory) -> None:
    radars = [_radar(default_scenario, "JPN-GR1"), _radar(default_scenario, "JPN-SHIP1")]
    plots = sorted(
        (
            p
            for i, radar in enumerate(radars)
            for p in radar_measurements(default_trajectory, radar, np.random.default_rng(i))
        ),
        key=lambda p: p.time_s,
    )
    start = _start_s(default_trajectory)
    reports = track_ballistic(plots, sensors=radars, track_number=3, party="JPN", start_s=start)
    usable = [p for p in plots if p.time_s >= start]
    assert len(reports) == len(usable) - 2
    assert reports[0].time_s == usable[2].time_s
    latency = {r.name: r.latency_s for r in radars}
    assert all(r.available_s == r.time_s + latency[r.sensor] for r in reports)
    assert {r.sensor for r in reports} == {"JPN-GR1", "JPN-SHIP1"}
    assert reports[0].quality < reports[-1].quality <= 15
    assert reports[0].phase == "midcourse"
    assert reports[-1].phase == "terminal"
    assert (
        track_ballistic(plots[:2], sensors=radars, track_number=3, party="JPN", start_s=0.0) == []
    )
    with pytest.raises(PhysicsError):
        track_ballistic(plots[::-1], sensors=radars, track_number=3, party="JPN", start_s=start)
    with pytest.raises(PhysicsError):
        track_ballistic(plots, sensors=radars[:1], track_number=3, party="JPN", start_s=start)


def test_burnout_detection_restarts_and_is_consistent_after_burnout(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    """Without a burnout time the tracker finds the ballistic phase from its innovations.

    ROK's radars see the boost; thrust can pass the innovation test for a while (early
    reports are then biased, which the module docstring owns), but the track is started
    again and, from 20 s after burnout, is as consistent as a track started at burnout.
    """
    radars = [s for s in default_scenario.sensors_of("ROK") if s.kind == "radar"]
    burnout_s = default_trajectory.launch_time_s + default_trajectory.burnout_time_s
    means = []
    for run in range(5):
        rng = np.random.default_rng(run)
        plots = sorted(
            (m for r in radars for m in radar_measurements(default_trajectory, r, rng)),
            key=lambda m: m.time_s,
        )
        assert plots[0].time_s < burnout_s - 30.0  # the boost is seen
        reports = track_ballistic(plots, sensors=radars, track_number=1, party="ROK")
        late = [r for r in reports if r.time_s >= burnout_s + 20.0]
        errors = _errors(default_trajectory, late)
        nees = [e @ np.linalg.solve(r.cov, e) for e, r in zip(errors, late, strict=True)]
        means.append(float(np.mean(nees)))
    assert np.mean(means) < 2 * NEES_BOUNDS[1], means


def _plot_at(time_s: float) -> RadarMeasurement:
    return RadarMeasurement(time_s, "R", 1e6, 0.0, 0.5, 50.0, 5e-4)


def test_a_track_that_coasts_too_long_is_deleted_and_later_plots_start_another() -> None:
    times = [0.0, 4.0, 8.0, 8.0 + MAX_COAST_S, 8.0 + 2 * MAX_COAST_S + 1.0, 200.0]
    runs = split_at_coasts([_plot_at(t) for t in times])
    assert [[p.time_s for p in run] for run in runs] == [times[:4], times[4:5], times[5:]]
    assert split_at_coasts([]) == []
