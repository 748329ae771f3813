"""IR line of sight and the boost-phase tracker: geometry, stereo fixes, NEES against truth."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from tests.factories import nees
from warnlink.errors import PhysicsError
from warnlink.estimation.boost_tracker import Measurement, iter_boost, position_fix
from warnlink.estimation.radar_tracker import track_ballistic
from warnlink.geo.wgs84 import ecef_to_lla, lla_to_ecef
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sensors.ir import LosMeasurement, los_function, los_ray
from warnlink.sensors.sensor import IR_MIN_ALTITUDE_M, Sensor
from warnlink.sim.measurements import ir_measurements, radar_measurements
from warnlink.sim.scenario import Scenario
from warnlink.sim.trajectory import Trajectory

NEES_SEEDS = 8


def _sensor(scenario: Scenario, name: str) -> Sensor:
    return next(s for s in scenario.sensors if s.name == name)


def test_line_of_sight_inverts_to_a_ray_through_the_target(default_scenario: Scenario) -> None:
    ir = _sensor(default_scenario, "USA-IR2")
    targets = lla_to_ecef(np.array([39.2, 40.0, 10.0]), np.array([125.7, 131.0, 150.0]), 50e3)
    angles = los_function(np.concatenate([targets, np.zeros((3, 3))], axis=1), ir)
    assert angles.shape == (3, 2)
    # Straight below the satellite the plume sits on the boresight.
    below = los_function(lla_to_ecef(0.0, 150.0, 0.0)[None, :], ir)
    np.testing.assert_allclose(below, 0.0, atol=1e-9)
    for target, (alpha, beta) in zip(targets, angles, strict=True):
        origin, direction = los_ray(LosMeasurement(0.0, ir.name, alpha, beta, 2e-5), ir)
        offset = target - origin
        across = offset - (offset @ direction) * direction
        assert np.linalg.norm(across) < 1e-3
        assert offset @ direction > 0.0


def test_line_of_sight_needs_an_ir_sensor(default_scenario: Scenario) -> None:
    radar = _sensor(default_scenario, "ROK-GR1")
    with pytest.raises(PhysicsError):
        los_function(np.zeros((1, 3)), radar)
    with pytest.raises(PhysicsError):
        ir_measurements(None, radar, np.random.default_rng())  # type: ignore[arg-type]


def test_ir_sightings_are_boost_only_on_the_revisit_with_their_noise(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    tr = default_trajectory
    ir = _sensor(default_scenario, "USA-IR1")
    rng = np.random.default_rng(4)
    normalised: list[float] = []
    for _ in range(20):
        sightings = ir_measurements(tr, ir, rng)
        assert sightings
        for m in sightings:
            since = m.time_s - tr.launch_time_s
            assert since <= tr.burnout_time_s
            assert m.time_s % ir.update_s == pytest.approx(0.0, abs=1e-6)
            truth = tr.state_at(since)
            exact = los_function(truth[None, :], ir)[0]
            normalised += list((m.vector - exact) / m.angle_sigma_rad)
    assert 0.85 < float(np.std(normalised)) < 1.15
    first = ir_measurements(tr, ir, np.random.default_rng(0))[0]
    _, _, height = ecef_to_lla(tr.state_at(first.time_s - tr.launch_time_s)[:3])
    assert IR_MIN_ALTITUDE_M <= float(height) < IR_MIN_ALTITUDE_M + 10e3


def test_stereo_triangulates_and_one_line_of_sight_fixes_nothing(
    default_scenario: Scenario,
) -> None:
    irs = [_sensor(default_scenario, n) for n in ("USA-IR1", "USA-IR2")]
    by_name = {s.name: s for s in irs}
    target = lla_to_ecef(39.3, 125.8, 20e3)
    sightings = [
        LosMeasurement(10.0, s.name, *los_function(target[None, :], s)[0], 2e-5) for s in irs
    ]
    fix = position_fix(sightings, by_name)
    assert fix is not None
    point, cov = fix
    assert np.linalg.norm(point - target) < 1.0
    # 20 urad at ~37,000 km: ~0.75 km across each line of sight, worse along the baseline.
    sigmas = np.sqrt(np.linalg.eigvalsh(cov))
    assert sigmas[0] > 500.0
    assert sigmas[-1] < 5000.0
    assert position_fix(sightings[:1], by_name) is None


def _party_measurements(
    scenario: Scenario, trajectory: Trajectory, party: str, rng: np.random.Generator
) -> tuple[list[Measurement], list[Sensor]]:
    sensors = list(scenario.sensors_of(party))
    measurements: list[Measurement] = []
    for s in sensors:
        made = (radar_measurements if s.kind == "radar" else ir_measurements)(trajectory, s, rng)
        measurements += made
    measurements.sort(key=lambda m: (m.time_s, m.sensor))
    return measurements, sensors


def track_boost(*args: Any, **kwargs: Any) -> list[TrackEstimate]:
    """All the boost filter's reports (the filter runs lazily: `iter_boost`)."""
    return list(iter_boost(*args, **kwargs))


def _boost_nees(
    scenario: Scenario, trajectory: Trajectory, party: str
) -> tuple[list[float], list[float]]:
    """NEES of the boost filter's reports up to burnout, and of the ballistic UKF run on the
    same plots from the first on (a filter that ignores thrust)."""
    ours: list[float] = []
    ballistic: list[float] = []
    burnout = trajectory.launch_time_s + trajectory.burnout_time_s
    for seed in range(NEES_SEEDS):
        rng = np.random.default_rng(seed)
        measurements, sensors = _party_measurements(scenario, trajectory, party, rng)
        reports = track_boost(measurements, sensors=sensors, track_number=1, party=party)
        ours += nees([r for r in reports if r.time_s <= burnout], trajectory)
        plots = [m for m in measurements if not isinstance(m, LosMeasurement)]
        radars = [s for s in sensors if s.kind == "radar"]
        coasting = track_ballistic(
            plots, sensors=radars, track_number=1, party=party, start_s=trajectory.launch_time_s
        )
        ballistic += nees([r for r in coasting if r.time_s <= burnout], trajectory)
    return ours, ballistic


@pytest.mark.parametrize("party", ["ROK", "USA"])
def test_boost_filter_is_consistent_and_a_ballistic_filter_is_not(
    default_scenario: Scenario, default_trajectory: Trajectory, party: str
) -> None:
    """Mean NEES of the boost reports (6 degrees of freedom) in a band around 6; the
    ballistic UKF on the same plots, blind to thrust, is far outside it (where it has plots
    at all: USA's boost is seen by IR only)."""
    ours, ballistic = _boost_nees(default_scenario, default_trajectory, party)
    n = len(ours)
    assert n >= 40
    assert 4.0 < float(np.mean(ours)) < 6.0 + 3.5 * math.sqrt(12.0 / n)
    if party == "ROK":
        assert len(ballistic) >= 40
        assert float(np.mean(ballistic)) > 100.0


def test_burnout_is_detected_from_the_radar_plots(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    tr = default_trajectory
    burnout = tr.launch_time_s + tr.burnout_time_s
    measurements, sensors = _party_measurements(
        default_scenario, tr, "ROK", np.random.default_rng(2)
    )
    reports = track_boost(measurements, sensors=sensors, track_number=3, party="ROK")
    assert all(r.phase == "boost" for r in reports if r.time_s < burnout - 4.0)
    assert all(r.phase == "midcourse" for r in reports if burnout + 20.0 < r.time_s < burnout + 200)
    assert {r.track_number for r in reports} == {3}
    later = track_boost(measurements, sensors=sensors, track_number=3, party="ROK", end_s=burnout)
    assert max(r.time_s for r in later) < burnout


def test_a_track_first_seen_descending_is_not_called_boost(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    tr = default_trajectory
    apogee = tr.launch_time_s + float(tr.t_s[np.argmax(np.linalg.norm(tr.pos_ecef_m, axis=1))])
    measurements, sensors = _party_measurements(
        default_scenario, tr, "JPN", np.random.default_rng(5)
    )
    late = [m for m in measurements if m.time_s > apogee + 30.0]
    reports = track_boost(late, sensors=sensors, track_number=1, party="JPN")
    assert len(reports) > 10
    assert {r.phase for r in reports} <= {"midcourse", "terminal"}


def test_boost_tracker_refuses_bad_input(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    measurements, sensors = _party_measurements(
        default_scenario, default_trajectory, "ROK", np.random.default_rng(0)
    )
    with pytest.raises(PhysicsError):
        track_boost(measurements[::-1], sensors=sensors, track_number=1, party="ROK")
    with pytest.raises(PhysicsError):
        track_boost(measurements, sensors=sensors[:1], track_number=1, party="ROK")
    foreign = replace(sensors[0], party="JPN")
    with pytest.raises(PhysicsError):
        track_boost(measurements, sensors=[foreign], track_number=1, party="ROK")
    assert track_boost(measurements[:1], sensors=sensors, track_number=1, party="ROK") == []
