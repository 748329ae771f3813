"""Sensor visibility and the simulated national trackers: schedule, latency, honest covariance."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from tests.factories import nees
from warnlink.errors import ConfigError
from warnlink.geo.wgs84 import MEAN_RADIUS_M, lla_to_ecef
from warnlink.sensors.sensor import (
    Sensor,
    line_of_sight_clear,
    measurement_covariance,
    refracted_elevation_deg,
    visible,
)
from warnlink.sim.scenario import Scenario, simulate_party
from warnlink.sim.trajectory import Trajectory

RADAR = Sensor(
    name="T-R",
    party="T",
    kind="radar",
    lat_deg=40.0,
    lon_deg=130.0,
    alt_m=0.0,
    max_range_km=1000.0,
    min_elevation_deg=1.0,
    update_s=5.0,
    range_sigma_m=30.0,
    angle_sigma_mrad=1.0,
    latency_s=3.0,
)


def test_radar_horizon_range_and_mask() -> None:
    targets = np.stack(
        [
            lla_to_ecef(40.0, 133.0, 300e3),  # ~255 km away, high: seen
            lla_to_ecef(40.0, 133.0, 1e3),  # same place, low: below the horizon
            lla_to_ecef(40.0, 145.0, 900e3),  # beyond 1000 km
        ]
    )
    seen = visible(RADAR, targets, np.zeros(3, dtype=bool))
    assert seen.tolist() == [True, False, False]


def test_refraction_lets_a_radar_see_beyond_the_geometric_horizon() -> None:
    """4/3-Earth: a target 100 km up is on the radio horizon at sqrt(2 (4/3) R h) = 1,304 km.

    The geometric horizon for the same height is sqrt(2 R h) = 1,129 km.
    """
    ship = replace(RADAR, lat_deg=0.0, lon_deg=0.0, min_elevation_deg=0.0, max_range_km=3000.0)
    km_per_deg = MEAN_RADIUS_M * math.pi / 180.0 / 1e3
    ground_km = np.array([1200.0, 1280.0, 1330.0])
    targets = np.stack([lla_to_ecef(0.0, d / km_per_deg, 100e3) for d in ground_km])
    assert visible(ship, targets, np.zeros(3, dtype=bool)).tolist() == [True, True, False]
    elevation = refracted_elevation_deg(0.0, np.array([100e3]), np.array([1.0e6]))
    assert 0.0 < elevation[0] < 5.0


def test_earth_blocks_the_line_of_sight() -> None:
    origin = lla_to_ecef(0.0, 0.0, 0.0)
    assert not line_of_sight_clear(origin, lla_to_ecef(0.0, 180.0, 1e6)[None])[0]
    assert line_of_sight_clear(origin, lla_to_ecef(0.0, 1.0, 1e5)[None])[0]


def test_ir_sees_only_the_boost() -> None:
    ir = replace(RADAR, kind="ir", lat_deg=0.0, alt_m=35.786e6, max_range_km=45000.0)
    target = lla_to_ecef(39.0, 126.0, [30e3, 30e3, 100.0])
    assert visible(ir, target, np.array([True, False, True])).tolist() == [True, False, False]


def test_measurement_covariance_shape() -> None:
    target = lla_to_ecef(40.0, 133.0, 300e3)
    cov = measurement_covariance(RADAR, target)
    los = target - RADAR.position_ecef_m
    los /= np.linalg.norm(los)
    assert los @ cov @ los == pytest.approx(30.0**2)
    rho = np.linalg.norm(target - RADAR.position_ecef_m)
    assert np.sqrt(np.trace(cov) - 30.0**2) == pytest.approx(np.sqrt(2) * rho * 1e-3)


def test_reports_are_time_ordered_with_latency(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    reports = simulate_party(
        default_scenario, {"L1": default_trajectory}, "JPN", np.random.default_rng(3)
    )
    by_name = {s.name: s for s in default_scenario.sensors}
    for r in reports:
        assert r.available_s == pytest.approx(r.time_s + by_name[r.sensor].latency_s)
        assert r.track_number == 1
        assert r.party == "JPN"
        assert 0 <= r.quality <= 15
        launch = default_trajectory.launch_time_s
        assert launch <= r.time_s <= launch + default_trajectory.impact_time_s


def test_party_reports_are_honest_or_conservative(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    """The boost filter is about consistent (its own test); the radar filter's process noise
    and its prior on the ballistic coefficient make its covariance larger than its errors."""
    rng = np.random.default_rng(11)
    values: list[float] = []
    for party in default_scenario.parties:
        values += nees(
            simulate_party(default_scenario, {"L1": default_trajectory}, party, rng),
            default_trajectory,
        )
    n = len(values)
    assert n > 300
    assert 1.5 < np.mean(values) < 6.0 + 3.5 * np.sqrt(12.0 / n)


def test_every_party_sees_the_default_flight(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    for party in ("ROK", "JPN", "USA"):
        reports = simulate_party(
            default_scenario, {"L1": default_trajectory}, party, np.random.default_rng(0)
        )
        assert reports, party
        available = [r.available_s for r in reports]
        assert available == sorted(available)
    usa = simulate_party(
        default_scenario, {"L1": default_trajectory}, "USA", np.random.default_rng(0)
    )
    assert any(r.sensor == "USA-IR1" and r.phase == "boost" for r in usa)
    assert all(r.phase == "boost" for r in usa if r.sensor == "USA-IR1")


def test_a_party_whose_sensors_never_see_the_flight_reports_nothing(
    default_scenario: Scenario, default_trajectory: Trajectory
) -> None:
    far = replace(RADAR, lat_deg=-40.0, lon_deg=20.0)
    lonely = replace(default_scenario, sensors=(*default_scenario.sensors, far))
    assert simulate_party(lonely, {"L1": default_trajectory}, "T", np.random.default_rng()) == []


def test_invalid_sensor_names_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        replace(RADAR, update_s=0.0)
    assert info.value.key == "update_s"
