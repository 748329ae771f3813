"""Accuracy metrics against hand-computed answers."""

from __future__ import annotations

import math

import pytest

from warnlink.accuracy.metrics import (
    dual_track_rate,
    error_stats,
    fraction,
    gospa,
    holders_per_truth,
    inside_ellipse,
)
from warnlink.geo.ellipse import ellipse_distance2
from warnlink.geo.wgs84 import destination
from warnlink.model import Ellipse

C = 10.0


def test_gospa_of_two_empty_sets_is_zero() -> None:
    result = gospa([], [], cutoff=C)
    assert result.total == 0.0
    assert (result.missed_count, result.false_count, result.assigned_count) == (0, 0, 0)


def test_one_missed_truth_costs_half_the_cutoff_power() -> None:
    result = gospa([[0.0, 0.0]], [], cutoff=C)
    assert result.total == pytest.approx(math.sqrt(C**2 / 2))
    assert result.missed == pytest.approx(50.0)
    assert (result.missed_count, result.false_count) == (1, 0)


def test_one_false_estimate_costs_half_the_cutoff_power() -> None:
    result = gospa([], [[1.0, 1.0]], cutoff=C)
    assert result.total == pytest.approx(math.sqrt(50.0))
    assert result.false == pytest.approx(50.0)
    assert (result.missed_count, result.false_count) == (0, 1)


def test_a_perfect_match_is_zero() -> None:
    points = [[0.0, 0.0, 0.0], [100.0, 5.0, 2.0]]
    result = gospa(points, points, cutoff=C)
    assert result.total == 0.0
    assert result.assigned_count == 2


def test_one_pair_three_four_five() -> None:
    result = gospa([[0.0, 0.0]], [[3.0, 4.0]], cutoff=C)
    assert result.total == pytest.approx(5.0)
    assert result.localisation == pytest.approx(25.0)
    assert result.assigned_count == 1


def test_a_pair_beyond_the_cutoff_is_one_missed_and_one_false() -> None:
    result = gospa([[0.0, 0.0]], [[20.0, 0.0]], cutoff=C)
    assert result.total == pytest.approx(C)
    assert (result.missed_count, result.false_count, result.assigned_count) == (1, 1, 0)
    assert result.localisation == 0.0


def test_a_match_and_a_miss_add_up() -> None:
    result = gospa([[0.0, 0.0], [100.0, 0.0]], [[3.0, 4.0]], cutoff=C)
    assert result.total == pytest.approx(math.sqrt(25.0 + 50.0))


def test_the_assignment_is_optimal_not_greedy() -> None:
    # Pairs (0-3, 4-5) cost 9 + 1; the other way 25 + 1.
    result = gospa([[0.0, 0.0], [4.0, 0.0]], [[3.0, 0.0], [5.0, 0.0]], cutoff=100.0)
    assert result.total == pytest.approx(math.sqrt(10.0))


def test_order_one() -> None:
    assert gospa([[0.0, 0.0]], [[3.0, 4.0]], cutoff=C, order=1).total == pytest.approx(5.0)
    assert gospa([[0.0, 0.0]], [], cutoff=C, order=1).total == pytest.approx(5.0)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="cutoff"):
        gospa([], [], cutoff=0.0)


def test_holders_and_dual_track_rate() -> None:
    truths = [[0.0, 0.0], [1000.0, 0.0]]
    estimates = [[1.0, 0.0], [-2.0, 0.0], [5000.0, 0.0]]
    holders = holders_per_truth(truths, estimates, cutoff=C)
    assert holders == [2, 0]
    assert dual_track_rate([*holders, 1, 1]) == pytest.approx(0.25)
    assert dual_track_rate([]) is None


def _offset(bearing_deg: float, distance_m: float) -> tuple[float, float]:
    lat, lon = destination(37.0, 128.0, bearing_deg, distance_m)
    return float(lat), float(lon)


@pytest.mark.parametrize(
    ("bearing_deg", "distance_m", "orientation_deg", "inside"),
    [
        (0.0, 1_500.0, 0.0, True),  # along the major axis, inside 2 km
        (0.0, 2_500.0, 0.0, False),  # along the major axis, beyond it
        (90.0, 1_000.0, 0.0, False),  # across, beyond the 0.5 km minor axis
        (90.0, 1_500.0, 90.0, True),  # major axis turned east
        (45.0, 1_000.0, 45.0, True),
        (135.0, 1_000.0, 45.0, False),
    ],
)
def test_inside_ellipse(
    bearing_deg: float, distance_m: float, orientation_deg: float, inside: bool
) -> None:
    lat, lon = _offset(bearing_deg, distance_m)
    assert inside_ellipse(lat, lon, 37.0, 128.0, Ellipse(2_000.0, 500.0, orientation_deg)) is inside


def test_a_point_on_the_edge_is_at_distance_one() -> None:
    # `destination` works on a sphere, the ellipse on WGS-84: they differ by up to 0.5 %.
    lat, lon = _offset(90.0, 2_000.0)
    distance2 = ellipse_distance2(lat, lon, 37.0, 128.0, Ellipse(2_000.0, 500.0, 90.0))
    assert distance2 == pytest.approx(1.0, rel=1e-2)
    lat, lon = _offset(0.0, 500.0)
    assert ellipse_distance2(lat, lon, 37.0, 128.0, Ellipse(2_000.0, 500.0, 90.0)) == pytest.approx(
        1.0, rel=1e-2
    )


def test_error_stats_and_fraction() -> None:
    stats = error_stats([3.0, -4.0])
    assert stats["rms"] == pytest.approx(math.sqrt(12.5))
    assert stats["mean"] == pytest.approx(-0.5)
    assert stats["max"] == 4.0
    assert stats["n"] == 2
    assert error_stats([])["rms"] is None
    assert fraction([True, False, True, True]) == pytest.approx(0.75)
    assert fraction([]) is None
