"""Earth gravity: point mass plus the J2 zonal harmonic, in ECEF.

Model: geopotential truncated at degree 2, zonal only (Vallado, *Fundamentals of
Astrodynamics and Applications*, 4th ed., §8.6.1, eq. 8-29/8-30), with WGS-84 constants
(NIMA TR8350.2). Units: metres, seconds; accelerations in m/s^2, potentials in m^2/s^2.
"""

from __future__ import annotations

import numpy as np

from warnlink.geo.wgs84 import A_M, GM_M3_S2, J2, FloatArray


def gravity_j2(r_ecef: FloatArray, *, j2: float = J2) -> FloatArray:
    """Gravitational acceleration (N, 3), m/s^2, at ECEF positions (N, 3), m.

    Point mass plus J2 (Vallado 4th ed. §8.6.1). Pass ``j2=0.0`` for a spherical Earth.
    """
    x = r_ecef[..., 0]
    y = r_ecef[..., 1]
    z = r_ecef[..., 2]
    r2 = x * x + y * y + z * z
    r = np.sqrt(r2)
    mu_r3 = GM_M3_S2 / (r2 * r)
    k = 1.5 * j2 * A_M * A_M / r2
    z2_r2 = z * z / r2
    common = -mu_r3 * (1.0 + k * (1.0 - 5.0 * z2_r2))
    out = np.empty_like(r_ecef)
    out[..., 0] = common * x
    out[..., 1] = common * y
    out[..., 2] = -mu_r3 * (1.0 + k * (3.0 - 5.0 * z2_r2)) * z
    return out


def potential_j2(r_ecef: FloatArray, *, j2: float = J2) -> FloatArray:
    """Gravitational potential energy per unit mass (N,), m^2/s^2, so that a = -grad V.

    V = -GM/r + GM J2 a^2 (3 z^2/r^2 - 1) / (2 r^3)  (Vallado 4th ed. §8.6.1).
    """
    r2 = np.sum(r_ecef * r_ecef, axis=-1)
    r = np.sqrt(r2)
    z2_r2 = r_ecef[..., 2] ** 2 / r2
    return np.asarray(
        -GM_M3_S2 / r + GM_M3_S2 * j2 * A_M * A_M * (3.0 * z2_r2 - 1.0) / (2.0 * r2 * r)
    )
