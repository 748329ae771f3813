"""The 95 % ellipse on the ground: its scale, its outline, a point's distance from it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from warnlink.geo.ellipse import (
    CHI2_2_95,
    ELLIPSE_95_SCALE,
    RING_POINTS,
    ellipse_distance2,
    ellipse_ring,
)
from warnlink.geo.wgs84 import initial_azimuth_deg, surface_distance_m
from warnlink.model import Ellipse


def test_the_scale_is_the_square_root_of_the_chi2_2_95_point() -> None:
    assert chi2.ppf(0.95, 2) == pytest.approx(CHI2_2_95, rel=1e-12)
    assert pytest.approx(2.4477, abs=1e-4) == ELLIPSE_95_SCALE
    assert pytest.approx(CHI2_2_95, rel=1e-12) == ELLIPSE_95_SCALE**2


def test_a_ring_is_closed_and_has_its_axes_where_the_ellipse_says() -> None:
    ring = ellipse_ring(40.0, 135.0, Ellipse(20_000.0, 5_000.0, 60.0))
    assert len(ring) == RING_POINTS + 1
    assert ring[0] == ring[-1]
    lats = [p[0] for p in ring]
    lons = [p[1] for p in ring]
    # `surface_distance_m` works on a sphere, the ring on WGS-84: they differ by up to 0.5 %.
    distances = surface_distance_m(40.0, 135.0, lats, lons)
    assert distances.max() == pytest.approx(20_000.0, rel=5e-3)
    assert distances.min() == pytest.approx(5_000.0, rel=5e-3)
    # The first point is at the end of the major axis, on its bearing.
    assert float(initial_azimuth_deg(40.0, 135.0, lats[0], lons[0])) == pytest.approx(60.0, abs=0.1)


def test_a_ring_turns_clockwise_from_the_major_axis_to_the_minor() -> None:
    # Major axis north: a quarter turn on, the minor axis's end lies east.
    ring = ellipse_ring(0.0, 100.0, Ellipse(20_000.0, 10_000.0, 0.0), points=4)
    north, east, south, west, _ = ring
    assert north[0] > 0.0
    assert east[1] > 100.0
    assert south[0] < 0.0
    assert west[1] < 100.0


def test_a_scaled_ring_is_the_ellipse_times_the_scale() -> None:
    one = ellipse_ring(-33.0, 151.0, Ellipse(10_000.0, 4_000.0, 170.0))
    three = ellipse_ring(-33.0, 151.0, Ellipse(10_000.0, 4_000.0, 170.0), scale=3.0)
    d_one = surface_distance_m(-33.0, 151.0, *np.array(one).T)
    d_three = surface_distance_m(-33.0, 151.0, *np.array(three).T)
    assert d_three == pytest.approx(3.0 * d_one, rel=1e-3)


@pytest.mark.parametrize("orientation_deg", [0.0, 37.5, 90.0, 179.0])
def test_every_point_of_a_ring_is_at_distance_one(orientation_deg: float) -> None:
    """The outline and the distance are inverse readings of one geometry."""
    ellipse = Ellipse(50_000.0, 12_000.0, orientation_deg)
    for lat, lon in ellipse_ring(38.0, 128.0, ellipse):
        assert ellipse_distance2(lat, lon, 38.0, 128.0, ellipse) == pytest.approx(1.0, abs=2e-4)


def test_the_centre_is_at_distance_zero_and_a_degenerate_axis_is_tiny() -> None:
    assert ellipse_distance2(38.0, 128.0, 38.0, 128.0, Ellipse(1_000.0, 0.0, 0.0)) == 0.0
    east = ellipse_ring(38.0, 128.0, Ellipse(1_000.0, 1_000.0, 0.0), points=4)[1]
    assert ellipse_distance2(*east, 38.0, 128.0, Ellipse(1_000.0, 0.0, 0.0)) > 1e6
