"""The launch model against its request, the Kepler start and published flight times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import ecef_to_lla, initial_azimuth_deg
from warnlink.physics.kepler import minimum_energy_shot
from warnlink.sim.launch import LaunchSpec, fly
from warnlink.sim.reference import PublishedLaunch, check_launch, read_launches
from warnlink.sim.trajectory import Phase

LAUNCHES_CSV = Path(__file__).resolve().parents[2] / "scenarios" / "launches.csv"


@pytest.fixture(scope="module")
def sunan_900() -> object:
    return fly(LaunchSpec(39.2, 125.67, 78.0, 900.0, apogee_km=450.0))


def test_flight_meets_the_request(sunan_900: object) -> None:
    tr = sunan_900
    assert tr.range_m == pytest.approx(900e3, rel=0.01)
    assert tr.apogee_m == pytest.approx(450e3, rel=0.02)
    az = initial_azimuth_deg(39.2, 125.67, tr.impact_lat_deg, tr.impact_lon_deg)
    assert float(az) == pytest.approx(78.0, abs=0.2)
    _, _, alt = ecef_to_lla(tr.pos_ecef_m[-1])
    assert abs(float(alt)) < 1.0
    assert 9.0 * 60 < tr.impact_time_s < 14.0 * 60


def test_samples_phases_and_interpolation(sunan_900: object) -> None:
    tr = sunan_900
    assert np.max(np.diff(tr.t_s)) <= 1.0 + 1e-9
    assert tr.phase[0] == Phase.BOOST
    assert tr.phase[tr.burnout_index] == Phase.BOOST
    assert tr.phase[tr.burnout_index + 1] == Phase.MIDCOURSE
    assert tr.phase[-1] == Phase.TERMINAL
    assert np.all(np.diff(tr.phase) >= 0)
    # Mid-interval interpolation agrees with the mean of neighbouring samples to within
    # the curvature of the path (metres), and exactly at the samples.
    k = tr.burnout_index + 200
    np.testing.assert_allclose(
        tr.state_at(float(tr.t_s[k])), np.r_[tr.pos_ecef_m[k], tr.vel_ecef_mps[k]]
    )
    mid = tr.state_at(float(0.5 * (tr.t_s[k] + tr.t_s[k + 1])))
    chord = 0.5 * (tr.pos_ecef_m[k] + tr.pos_ecef_m[k + 1])
    assert np.linalg.norm(mid[:3] - chord) < 5.0
    with pytest.raises(PhysicsError):
        tr.state_at(tr.impact_time_s + 1.0)


def test_minimum_energy_flight_is_close_to_kepler() -> None:
    tr = fly(LaunchSpec(39.2, 125.67, 90.0, 1000.0))
    shot = minimum_energy_shot(1000e3)
    assert tr.range_m == pytest.approx(1000e3, rel=0.01)
    assert tr.apogee_m == pytest.approx(shot.apogee_alt_m, rel=0.02)
    # The boost adds its own duration to the Kepler time of flight.
    assert shot.time_of_flight_s < tr.impact_time_s < shot.time_of_flight_s + 120.0


def test_invalid_requests_raise_physics_error() -> None:
    with pytest.raises(PhysicsError):
        LaunchSpec(95.0, 125.0, 90.0, 1000.0)
    with pytest.raises(PhysicsError):
        LaunchSpec(39.0, 125.0, 90.0, 1000.0, apogee_km=-5.0)


FAST_ROWS = ("2017-08-29", "2019-10-02", "2017-11-29")


def published_rows() -> list[PublishedLaunch]:
    return [row for row in read_launches(LAUNCHES_CSV) if row.apogee_km > 100.0]


@pytest.mark.parametrize("date", FAST_ROWS)
def test_published_flight_times_fast_rows(date: str) -> None:
    row = next(r for r in published_rows() if r.date == date)
    check = check_launch(row)
    assert check.verdict == "pass", check


@pytest.mark.slow
def test_published_flight_times_all_rows() -> None:
    """Exact rows within 10% (the issue's bar); 'more than N km' rows can only come out short."""
    for row in published_rows():
        check = check_launch(row)
        assert check.model_flight_min is not None, row
        if row.apogee_at_least:
            assert check.verdict == "lower_bound"
            assert 0.7 * row.flight_min < check.model_flight_min < 1.05 * row.flight_min, row.date
        else:
            assert check.verdict == "pass", (row.date, check.relative_error)
