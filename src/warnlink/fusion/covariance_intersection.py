"""Covariance intersection: fusing estimates whose cross-correlation is unknown.

Two parties' tracks of one missile share errors nobody can quantify (common
atmosphere, common sensors behind a relay, one party's data fed into another's
tracker), so their states are not independent and a Kalman-style fusion would be
overconfident. Covariance intersection (Julier & Uhlmann, "A non-divergent estimation
algorithm in the presence of unknown correlations", ACC 1997) is consistent whatever
the correlation:

    P^-1 = sum_i w_i P_i^-1,   x = P sum_i w_i P_i^-1 x_i,   w_i >= 0, sum w_i = 1,

with the weights chosen to minimise trace(P). For two estimates the weight is found
by golden-section search on [0, 1]; more estimates are fused one after another (the
sequential form, a common approximation of the joint optimum). Units follow the
inputs (here ECEF m and m/s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from warnlink.geo.wgs84 import FloatArray

_GOLDEN: Final = (math.sqrt(5.0) - 1.0) / 2.0
_ITERATIONS: Final = 40


def _fuse_pair(
    a: FloatArray, pa: FloatArray, b: FloatArray, pb: FloatArray, w: float
) -> tuple[FloatArray, FloatArray]:
    ia, ib = np.linalg.inv(pa), np.linalg.inv(pb)
    information = w * ia + (1.0 - w) * ib
    cov = np.linalg.inv(information)
    mean = cov @ (w * ia @ a + (1.0 - w) * ib @ b)
    return mean, 0.5 * (cov + cov.T)


def intersect_pair(
    a: FloatArray, pa: FloatArray, b: FloatArray, pb: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    """Fuse two estimates; returns (mean, covariance, weight of `a`)."""
    lo, hi = 0.0, 1.0
    x1, x2 = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)

    def trace(w: float) -> float:
        return float(np.trace(_fuse_pair(a, pa, b, pb, w)[1]))

    f1, f2 = trace(x1), trace(x2)
    for _ in range(_ITERATIONS):
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - _GOLDEN * (hi - lo)
            f1 = trace(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + _GOLDEN * (hi - lo)
            f2 = trace(x2)
    candidates = [(trace(0.0), 0.0), (trace(1.0), 1.0), (trace(0.5 * (lo + hi)), 0.5 * (lo + hi))]
    _, w = min(candidates)
    mean, cov = _fuse_pair(a, pa, b, pb, w)
    return mean, cov, w


def intersect(
    means: Sequence[FloatArray], covariances: Sequence[FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Fuse any number of estimates by sequential pairwise covariance intersection."""
    if not means:
        raise ValueError("nothing to fuse")
    mean, cov = np.asarray(means[0], dtype=np.float64), np.asarray(covariances[0], dtype=np.float64)
    for other, other_cov in zip(means[1:], covariances[1:], strict=True):
        mean, cov, _ = intersect_pair(mean, cov, np.asarray(other), np.asarray(other_cov))
    return mean, cov
