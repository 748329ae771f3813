"""Physical plausibility checks on SI values, one row per state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from warnlink.geo.wgs84 import lla_to_ecef
from warnlink.sources.checks import (
    MAX_ALTITUDE_M,
    MAX_SPEED_MPS,
    MIN_ALTITUDE_M,
    Finding,
    covariance_findings,
    latitude_findings,
    longitude_findings,
    position_findings,
    velocity_findings,
)


def _rows(findings: list[Finding]) -> list[tuple[int, str]]:
    return [(f.row, f.reason) for f in findings]


def test_positions_between_the_surface_and_50000_km_pass() -> None:
    heights = [MIN_ALTITUDE_M + 1.0, 0.0, 300e3, MAX_ALTITUDE_M]
    assert position_findings(lla_to_ecef(35.0, 139.0, np.array(heights))) == []


def test_positions_below_or_above_the_band_or_not_finite_are_named_by_row() -> None:
    pos = lla_to_ecef(35.0, 139.0, np.array([0.0, MIN_ALTITUDE_M, MAX_ALTITUDE_M + 1.0, 0.0]))
    pos[3, 1] = np.nan
    assert _rows(position_findings(pos)) == [(1, "altitude"), (2, "altitude"), (3, "not_finite")]


def test_speeds_under_12_km_s_pass_and_at_it_fail() -> None:
    vel = np.array([[0.0, 0.0, MAX_SPEED_MPS - 0.001], [MAX_SPEED_MPS, 0.0, 0.0], [np.inf, 0, 0]])
    assert _rows(velocity_findings(vel)) == [(1, "speed"), (2, "not_finite")]


def test_a_covariance_must_be_symmetric_and_positive_semi_definite() -> None:
    good = np.diag([1e4, 1e4, 1e4, 1.0, 1.0, 1.0])
    singular = np.zeros((6, 6))
    singular[0, 0] = 1.0
    asymmetric = good.copy()
    asymmetric[0, 1] = 50.0
    indefinite = good.copy()
    indefinite[0, 1] = indefinite[1, 0] = 2e4  # correlation 2
    infinite = good.copy()
    infinite[2, 2] = np.inf
    findings = covariance_findings(np.stack([good, singular, asymmetric, indefinite, infinite]))
    assert _rows(findings) == [(2, "covariance"), (3, "covariance"), (4, "not_finite")]
    assert "symmetric" in findings[0].message
    assert "semi-definite" in findings[1].message


def test_rounding_in_a_decimal_covariance_is_tolerated() -> None:
    a = np.random.default_rng(1).normal(size=(6, 6))
    cov = a @ a.T
    cov[5] = cov[4]  # rank-deficient: a zero eigenvalue, computed as about -1e-16
    cov[:, 5] = cov[:, 4]
    assert covariance_findings(np.round(cov, 12)) == []


def test_a_huge_covariance_does_not_overflow_the_test() -> None:
    assert covariance_findings(np.eye(6) * 1e307) == []
    assert _rows(covariance_findings(np.diag([1e307, -1e307, 1, 1, 1, 1]))) == [(0, "covariance")]


@pytest.mark.parametrize(
    ("check", "values", "bad"),
    [
        (latitude_findings, [-90.0, 0.0, 90.0, 90.001, -91.0, np.nan], [3, 4, 5]),
        (longitude_findings, [-180.0, 180.0, 180.5, -200.0], [2, 3]),
    ],
)
def test_latitudes_and_longitudes_in_range(
    check: Callable[[list[float]], list[Finding]], values: list[float], bad: list[int]
) -> None:
    assert [f.row for f in check(values)] == bad
