"""Cubic Hermite interpolation of sampled motion: states between samples.

Model: on each interval the position is the cubic through both ends' positions and
velocities (de Boor, *A Practical Guide to Splines*, ch. IV), its derivative the velocity;
exact to O(h^4) in position for smooth motion. States are ECEF (K, 6): position in m,
velocity in m/s.
"""

from __future__ import annotations

import numpy as np

from warnlink.geo.wgs84 import FloatArray


def hermite_states(
    knots_s: FloatArray, pos_m: FloatArray, vel_mps: FloatArray, t_s: FloatArray
) -> FloatArray:
    """States (M, 6) at times (M,), s, within the increasing knots (K,) at which the
    positions and velocities (K, 3) are given."""
    t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    i = np.clip(np.searchsorted(knots_s, t, side="right") - 1, 0, knots_s.size - 2)
    h = (knots_s[i + 1] - knots_s[i])[:, None]
    s = (t - knots_s[i])[:, None] / h
    p0, p1 = pos_m[i], pos_m[i + 1]
    m0, m1 = h * vel_mps[i], h * vel_mps[i + 1]
    s2, s3 = s * s, s * s * s
    pos = (
        (2 * s3 - 3 * s2 + 1) * p0
        + (s3 - 2 * s2 + s) * m0
        + (-2 * s3 + 3 * s2) * p1
        + (s3 - s2) * m1
    )
    vel = (
        (6 * s2 - 6 * s) * p0
        + (3 * s2 - 4 * s + 1) * m0
        + (-6 * s2 + 6 * s) * p1
        + (3 * s2 - 2 * s) * m1
    ) / h
    return np.concatenate([pos, vel], axis=1)
