"""Frames of incoming state vectors: J2000 to the node's ECEF, and UVW covariance axes.

**J2000 to ECEF** (IERS Conventions 2010, CIO based, IAU 2006/2000A precession-
nutation, computed with ERFA, the open implementation of the IAU's SOFA library,
through pyerfa)::

    r_ecef = M r_j2000,    M = R3(ERA(UT1)) C(TT) B^T
    v_ecef = M v_j2000 - w x r_ecef

B is the IAU 2006 frame bias (GCRS to the mean equator and equinox of J2000,
`erfa.bp06`), C the GCRS-to-CIRS matrix (bias-precession-nutation with the CIO
locator, `erfa.c2i06a`), ERA the Earth rotation angle (`erfa.era00`) and w the
Earth's rotation, (0, 0, `EARTH_ROTATION_RAD_S`). ECEF velocities are relative to the
rotating Earth. The map is linear in the state, so the 6x6 Jacobian
``[[M, 0], [-[w x] M, M]]`` transforms the state and its covariance (J P J^T) exactly.

Approximations, with their bounds:

- UT1 is taken as UTC unless the caller gives UT1-UTC: IERS keeps |UT1-UTC| < 0.9 s,
  an Earth rotation of up to 6.6e-5 rad: up to ~420 m along the equator at the
  surface, proportionally more higher up (~3.3 km at 50,000 km);
- polar motion is neglected (ECEF is taken as the terrestrial intermediate frame):
  under 0.6 arcsec, ~10-20 m at the surface;
- C is evaluated at the middle of the TT minute (and cached): precession-nutation moves
  under 2e-6 arcsec/s, < 1e-10 rad in 30 s, < 1 cm at 50,000 km;
- the CIP offsets dX, dY (observed minus IAU 2006/2000A, < 1 mas) are neglected: < 3 cm
  at the surface;
- TT = UTC + (TAI-UTC from ERFA's leap-second table) + 32.184 s; TT only drives
  precession-nutation, where a second's error is far below a millimetre;
- the rates of precession, nutation and polar motion are left out of the velocity:
  < 1 mm/s.

**UVW** (UDL's covariance default): U radial (along the position), W cross-track
(along r x v), V = W x U in-track (Vallado, *Fundamentals of Astrodynamics and
Applications*, 4th ed., sec. 3.3, "RSW"). The axes are those of the state in the
frame its vectors are given in (UDL ``referenceFrame``); a UVW covariance is rotated
into that frame block by block (position and velocity alike: no rotating-frame term),
then follows the state to ECEF.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Final

import erfa
import numpy as np
from numpy.typing import NDArray

from warnlink.geo.wgs84 import FloatArray
from warnlink.model.time import NS_PER_S

EARTH_ROTATION_RAD_S: Final = 7.292115146706979e-5
"""Mean angular velocity of the Earth, rad/s: the rate of the ERA (IERS Conventions 2010)."""
TT_MINUS_TAI_S: Final = 32.184
_UNIX_EPOCH_JD: Final = 2440587.5
_NS_PER_DAY: Final = 86_400 * NS_PER_S
_OMEGA: Final = np.array(
    [
        [0.0, -EARTH_ROTATION_RAD_S, 0.0],
        [EARTH_ROTATION_RAD_S, 0.0, 0.0],
        [0.0, 0.0, 0.0],
    ]
)
"""[w x]: the cross product with the Earth's rotation vector as a matrix."""
_FRAME_BIAS: Final = erfa.bp06(2451545.0, 0.0)[0]
"""B, GCRS to mean J2000 (IAU 2006; constant)."""


def _jd(ns: int) -> tuple[float, float]:
    """Nanoseconds since 1970 on a day-of-86400-s scale as a two-part Julian date."""
    days, rest = divmod(ns, _NS_PER_DAY)
    return _UNIX_EPOCH_JD + days, rest / _NS_PER_DAY


def tai_minus_utc_s(epoch_ns: int) -> float:
    """TAI - UTC at a UTC instant, s (ERFA's leap-second table; its last value after it)."""
    return _tai_minus_utc_on(epoch_ns // _NS_PER_DAY)


@functools.lru_cache(maxsize=16)
def _tai_minus_utc_on(day: int) -> float:
    """TAI - UTC during a UTC day (days since 1970); leap seconds fall between days."""
    year, month, date, _ = erfa.jd2cal(_UNIX_EPOCH_JD + day, 0.5)
    with warnings.catch_warnings():
        # "dubious year": past the table's horizon its last value is used, which can be
        # a leap second short: in TT, far below anything precession-nutation shows.
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        return float(erfa.dat(year, month, date, 0.5))


@functools.lru_cache(maxsize=64)
def _celestial_to_intermediate(tt_minute: int) -> FloatArray:
    """C B^T: mean J2000 to CIRS at the middle of a TT minute (minutes since 1970)."""
    matrix = erfa.c2i06a(*_jd((tt_minute * 60 + 30) * NS_PER_S)) @ _FRAME_BIAS.T
    matrix.flags.writeable = False
    return np.asarray(matrix)


def j2000_to_ecef_matrix(epoch_ns: int, *, ut1_minus_utc_s: float = 0.0) -> FloatArray:
    """M (3, 3): J2000 position to ECEF position at a UTC instant (see the module docstring)."""
    tt_ns = epoch_ns + round((tai_minus_utc_s(epoch_ns) + TT_MINUS_TAI_S) * NS_PER_S)
    era = float(erfa.era00(*_jd(epoch_ns + round(ut1_minus_utc_s * NS_PER_S))))
    c, s = math.cos(era), math.sin(era)
    spin = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # R3(ERA)
    return spin @ _celestial_to_intermediate(tt_ns // (60 * NS_PER_S))


def j2000_to_ecef_jacobian(epoch_ns: int, *, ut1_minus_utc_s: float = 0.0) -> FloatArray:
    """J (6, 6): J2000 (position, velocity) to ECEF (position, velocity relative to the Earth)."""
    m = j2000_to_ecef_matrix(epoch_ns, ut1_minus_utc_s=ut1_minus_utc_s)
    jac = np.zeros((6, 6))
    jac[:3, :3] = m
    jac[3:, 3:] = m
    jac[3:, :3] = -_OMEGA @ m
    return jac


def ecef_to_j2000_jacobian(epoch_ns: int, *, ut1_minus_utc_s: float = 0.0) -> FloatArray:
    """The inverse of `j2000_to_ecef_jacobian`: ``[[M^T, 0], [M^T [w x], M^T]]``."""
    mt = j2000_to_ecef_matrix(epoch_ns, ut1_minus_utc_s=ut1_minus_utc_s).T
    jac = np.zeros((6, 6))
    jac[:3, :3] = mt
    jac[3:, 3:] = mt
    jac[3:, :3] = mt @ _OMEGA
    return jac


def uvw_axes(pos: FloatArray, vel: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """The radial, in-track and cross-track axes of states (..., 3), in their own frame.

    Returns:
        (..., 3, 3) whose rows are U, V, W; and (...) whether they are defined (a state
        with no position, or a velocity zero or along the position, has no W: its axes
        are NaN).
    """
    r = np.asarray(pos, dtype=np.float64)
    v = np.asarray(vel, dtype=np.float64)
    h = np.cross(r, v)
    r_norm = np.linalg.norm(r, axis=-1)
    h_norm = np.linalg.norm(h, axis=-1)
    defined = h_norm > 1e-9 * r_norm * np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = r / np.where(defined, r_norm, np.nan)[..., np.newaxis]
        w = h / np.where(defined, h_norm, np.nan)[..., np.newaxis]
    return np.stack([u, np.cross(w, u), w], axis=-2), np.asarray(defined)


def rotate_covariance(cov: FloatArray, rotation: FloatArray) -> FloatArray:
    """Covariances (..., 6, 6) with position and velocity each rotated by `rotation` (..., 3, 3)."""
    rot = np.asarray(rotation, dtype=np.float64)
    jac = np.zeros((*rot.shape[:-2], 6, 6))
    jac[..., :3, :3] = rot
    jac[..., 3:, 3:] = rot
    return transform_covariance(cov, jac)


def transform_covariance(cov: FloatArray, jacobian: FloatArray) -> FloatArray:
    """J P J^T over (..., 6, 6), made exactly symmetric."""
    out = jacobian @ cov @ np.swapaxes(jacobian, -1, -2)
    return np.asarray((out + np.swapaxes(out, -1, -2)) / 2.0)
