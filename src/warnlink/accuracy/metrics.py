"""Accuracy metrics: GOSPA, dual-track rate, error-ellipse coverage, error statistics.

GOSPA (Rahmathullah, García-Fernández & Svensson, "Generalized optimal sub-pattern
assignment metric", FUSION 2017) with alpha = 2, cut-off c and order p, between a set of
true positions X = {x_1..x_m} and estimated positions Y = {y_1..y_n}:

    d(X, Y) = ( min over assignments gamma of  sum_(i,j in gamma) d(x_i, y_j)^p
                + c^p / 2 (|X| - |gamma|) + c^p / 2 (|Y| - |gamma|) )^(1/p)

where gamma pairs truths with estimates one-to-one and only pairs closer than c count as
assigned. With alpha = 2 the minimum is found by the optimal assignment on the cost
min(d, c)^p (a pair at or beyond c costs the same as one missed plus one false), solved
with scipy's `linear_sum_assignment` (Crouse's shortest augmenting path). The three parts
are returned as their p-th powers, so that total^p = localisation + missed + false.

Units: metres unless named otherwise. Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from warnlink.geo.ellipse import ellipse_distance2
from warnlink.model import Ellipse

DEFAULT_CUTOFF_M: Final = 10_000.0
"""GOSPA cut-off c: an estimate further than 10 km from every missile counts as false."""
DEFAULT_ORDER: Final = 2


@dataclass(frozen=True, slots=True)
class Gospa:
    """A GOSPA distance and its parts (alpha = 2).

    Attributes:
        total: the GOSPA distance, same unit as the positions.
        localisation: sum of d^p over assigned pairs (p-th power).
        missed: c^p / 2 times the number of missed truths (p-th power).
        false: c^p / 2 times the number of false estimates (p-th power).
        missed_count, false_count, assigned_count: the set sizes behind them.
    """

    total: float
    localisation: float
    missed: float
    false: float
    missed_count: int
    false_count: int
    assigned_count: int


def _points(values: ArrayLike) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 3))
    return array.reshape(array.shape[0], -1)


def gospa(
    truths: ArrayLike,
    estimates: ArrayLike,
    *,
    cutoff: float = DEFAULT_CUTOFF_M,
    order: int = DEFAULT_ORDER,
) -> Gospa:
    """GOSPA (alpha = 2) between truth positions (m, d) and estimated positions (n, d).

    Raises:
        ValueError: for a non-positive cut-off or an order below 1.
    """
    if cutoff <= 0.0 or order < 1:
        raise ValueError(f"need cutoff > 0 and order >= 1, got {cutoff}, {order}")
    x, y = _points(truths), _points(estimates)
    assigned = 0
    localisation = 0.0
    if len(x) and len(y):
        distances = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(np.minimum(distances, cutoff) ** order)
        paired = distances[rows, cols]
        close = paired < cutoff
        assigned = int(np.count_nonzero(close))
        localisation = float(np.sum(paired[close] ** order))
    half = cutoff**order / 2.0
    missed_count, false_count = len(x) - assigned, len(y) - assigned
    missed, false = half * missed_count, half * false_count
    return Gospa(
        total=(localisation + missed + false) ** (1.0 / order),
        localisation=localisation,
        missed=missed,
        false=false,
        missed_count=missed_count,
        false_count=false_count,
        assigned_count=assigned,
    )


def holders_per_truth(
    truths: ArrayLike, estimates: ArrayLike, *, cutoff: float = DEFAULT_CUTOFF_M
) -> list[int]:
    """How many estimates hold each truth: each estimate holds its nearest truth within cutoff."""
    x, y = _points(truths), _points(estimates)
    counts = [0] * len(x)
    if not len(x) or not len(y):
        return counts
    distances = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)
    nearest = np.argmin(distances, axis=0)
    for j, i in enumerate(nearest.tolist()):
        if distances[i, j] < cutoff:
            counts[i] += 1
    return counts


def dual_track_rate(holders: Sequence[int]) -> float | None:
    """Fraction of (truth, time) samples held by more than one event; None if no samples."""
    if not holders:
        return None
    return sum(1 for h in holders if h > 1) / len(holders)


def inside_ellipse(
    truth_lat_deg: float,
    truth_lon_deg: float,
    centre_lat_deg: float,
    centre_lon_deg: float,
    ellipse: Ellipse,
) -> bool:
    """Whether a ground point lies inside an ellipse on the tangent plane at its centre
    (`geo.ellipse.ellipse_distance2` at most 1)."""
    return (
        ellipse_distance2(truth_lat_deg, truth_lon_deg, centre_lat_deg, centre_lon_deg, ellipse)
        <= 1.0
    )


def error_stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, RMS (the 1-sigma figure of a zero-mean error), mean (the bias), and the 95th
    percentile and maximum of the magnitudes."""
    if not values:
        return {"n": 0, "rms": None, "mean": None, "p95": None, "max": None}
    array = np.asarray(values, dtype=np.float64)
    return {
        "n": int(array.size),
        "rms": float(np.sqrt(np.mean(array**2))),
        "mean": float(np.mean(array)),
        "p95": float(np.percentile(np.abs(array), 95.0)),
        "max": float(np.max(np.abs(array))),
    }


def fraction(flags: Sequence[bool]) -> float | None:
    """Fraction of true flags; None if there are none."""
    return sum(flags) / len(flags) if flags else None
