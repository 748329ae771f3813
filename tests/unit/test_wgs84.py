"""WGS-84 conversions and great-circle helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from warnlink.geo.wgs84 import (
    A_M,
    B_M,
    destination,
    ecef_to_lla,
    ecef_to_lla_one,
    enu_rotation,
    initial_azimuth_deg,
    lla_to_ecef,
    surface_distance_m,
    surface_distance_one_m,
)


def test_lla_ecef_round_trip_is_millimetre_exact() -> None:
    rng = np.random.default_rng(1)
    lat = rng.uniform(-89.9, 89.9, 2000)
    lon = rng.uniform(-180.0, 180.0, 2000)
    alt = rng.uniform(-500.0, 4_000_000.0, 2000)
    lat2, lon2, alt2 = ecef_to_lla(lla_to_ecef(lat, lon, alt))
    assert np.max(np.abs(alt2 - alt)) < 1e-3
    assert np.max(np.abs(lat2 - lat)) < 1e-9
    assert np.max(np.abs((lon2 - lon + 180.0) % 360.0 - 180.0)) < 1e-9


def test_known_points() -> None:
    np.testing.assert_allclose(lla_to_ecef(0.0, 0.0, 0.0), [A_M, 0.0, 0.0])
    np.testing.assert_allclose(lla_to_ecef(90.0, 0.0, 0.0), [0.0, 0.0, B_M], atol=1e-6)
    lat, _, alt = ecef_to_lla(np.array([0.0, 0.0, B_M + 100.0]))
    assert lat == pytest.approx(90.0)
    assert alt == pytest.approx(100.0, abs=1e-6)


def test_enu_rotation_is_orthonormal_and_up_is_the_normal() -> None:
    rot = enu_rotation(39.2, 125.67)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    p0 = lla_to_ecef(39.2, 125.67, 0.0)
    p1 = lla_to_ecef(39.2, 125.67, 1000.0)
    np.testing.assert_allclose(rot @ (p1 - p0), [0.0, 0.0, 1000.0], atol=1e-6)


def test_destination_and_azimuth_are_consistent() -> None:
    rng = np.random.default_rng(2)
    lat = rng.uniform(-70.0, 70.0, 500)
    lon = rng.uniform(-180.0, 180.0, 500)
    az = rng.uniform(0.0, 360.0, 500)
    dist = rng.uniform(1e3, 5e6, 500)
    lat2, lon2 = destination(lat, lon, az, dist)
    np.testing.assert_allclose(surface_distance_m(lat, lon, lat2, lon2), dist, rtol=1e-9)
    back = initial_azimuth_deg(lat, lon, lat2, lon2)
    np.testing.assert_allclose((back - az + 180.0) % 360.0 - 180.0, 0.0, atol=1e-7)


def test_quarter_meridian_distance() -> None:
    d = surface_distance_m(0.0, 0.0, 90.0, 0.0)
    assert float(d) == pytest.approx(np.pi / 2 * 6371008.8)


@given(
    lat=st.floats(-89.99, 89.99),
    lon=st.floats(-180.0, 180.0),
    alt=st.floats(-1000.0, 2.0e7),
)
def test_round_trip_property(lat: float, lon: float, alt: float) -> None:
    lat2, lon2, alt2 = ecef_to_lla(lla_to_ecef(lat, lon, alt))
    assert abs(float(alt2) - alt) < 1e-3
    assert abs(float(lat2) - lat) < 1e-9
    assert abs((float(lon2) - lon + 180.0) % 360.0 - 180.0) < 1e-9


def test_one_pair_distance_is_the_array_form_s() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(-90.0, 90.0, (500, 2))
    lon = rng.uniform(-180.0, 180.0, (500, 2))
    lat[:5, 1] = lat[:5, 0]  # coincident and antipodal points: the clip's edges
    lon[:5, 1] = lon[:5, 0]
    lat[5:10, 1], lon[5:10, 1] = -lat[5:10, 0], lon[5:10, 0] + 180.0
    arrays = surface_distance_m(lat[:, 0], lon[:, 0], lat[:, 1], lon[:, 1])
    for k in range(500):
        one = surface_distance_one_m(lat[k, 0], lon[k, 0], lat[k, 1], lon[k, 1])
        assert one == pytest.approx(float(arrays[k]), rel=1e-12, abs=1e-6)


def test_one_point_geodetic_is_the_array_form_s() -> None:
    rng = np.random.default_rng(11)
    lat = rng.uniform(-90.0, 90.0, 500)
    lon = rng.uniform(-180.0, 180.0, 500)
    alt = rng.uniform(-1000.0, 2.0e7, 500)
    lat[:3], alt[3:6] = (90.0, -90.0, 0.0), 0.0  # the poles, the equator, the ground
    xyz = lla_to_ecef(lat, lon, alt)
    arrays = ecef_to_lla(xyz)
    for k in range(500):
        one = ecef_to_lla_one(*(float(v) for v in xyz[k]))
        for got, want in zip(one, (float(a[k]) for a in arrays), strict=True):
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9)
