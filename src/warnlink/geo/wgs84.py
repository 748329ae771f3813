"""WGS-84 ellipsoid, geodetic <-> ECEF conversion, local ENU frame, great-circle geometry.

Constants from the World Geodetic System 1984 definition (NIMA TR8350.2, 3rd ed., 2000),
with the J2 zonal coefficient of EGM96 and the IERS value of GM. All lengths in metres,
angles in degrees only where a name says so (``lat_deg``), times in seconds.

Ground floor module: imports numpy and the standard library only.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def as_vector3(values: ArrayLike) -> tuple[float, float, float]:
    """Three numbers (an ECEF position or velocity) as a plain tuple of floats."""
    x, y, z = (float(v) for v in np.asarray(values, dtype=np.float64).reshape(3))
    return (x, y, z)


A_M: Final = 6378137.0
"""Semi-major axis, m (WGS-84)."""
F: Final = 1.0 / 298.257223563
"""Flattening (WGS-84)."""
B_M: Final = A_M * (1.0 - F)
"""Semi-minor axis, m."""
E2: Final = F * (2.0 - F)
"""First eccentricity squared."""
EP2: Final = E2 / (1.0 - E2)
"""Second eccentricity squared."""
GM_M3_S2: Final = 3.986004418e14
"""Earth's gravitational parameter, m^3/s^2 (WGS-84 / IERS)."""
J2: Final = 1.08262668e-3
"""Second zonal harmonic (unnormalised), WGS-84 / EGM96."""
OMEGA_EARTH_RAD_S: Final = 7.292115e-5
"""Earth rotation rate, rad/s (WGS-84)."""
MEAN_RADIUS_M: Final = 6371008.8
"""IUGG mean Earth radius R1 = (2a + b) / 3, m; used for great-circle geometry."""


def lla_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, alt_m: ArrayLike) -> FloatArray:
    """Geodetic latitude, longitude, ellipsoidal height to ECEF (WGS-84).

    Closed form (NIMA TR8350.2 eq. 4-14). Inputs broadcast; the result has shape (..., 3), m.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    h = np.asarray(alt_m, dtype=np.float64)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    n = A_M / np.sqrt(1.0 - E2 * sin_lat**2)
    x = (n + h) * cos_lat * np.cos(lon)
    y = (n + h) * cos_lat * np.sin(lon)
    z = (n * (1.0 - E2) + h) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_lla(xyz: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF (..., 3) in metres to geodetic (lat_deg, lon_deg, alt_m) on WGS-84.

    Bowring's parametric-latitude start followed by two Newton-like refinements of the
    latitude (Bowring 1976, Survey Review 23(181)); sub-millimetre from the ground to
    beyond geostationary height. Each output has shape (...).
    """
    p_xyz = np.asarray(xyz, dtype=np.float64)
    x = p_xyz[..., 0]
    y = p_xyz[..., 1]
    z = p_xyz[..., 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    beta = np.arctan2(z * A_M, p * B_M)
    lat = np.arctan2(z + EP2 * B_M * np.sin(beta) ** 3, p - E2 * A_M * np.cos(beta) ** 3)
    for _ in range(2):
        beta = np.arctan2((1.0 - F) * np.sin(lat), np.cos(lat))
        lat = np.arctan2(z + EP2 * B_M * np.sin(beta) ** 3, p - E2 * A_M * np.cos(beta) ** 3)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    n = A_M / np.sqrt(1.0 - E2 * sin_lat**2)
    # Height along the normal, stable at every latitude (Vermeille-style projection).
    alt = p * cos_lat + z * sin_lat - A_M**2 / n
    return np.degrees(lat), np.degrees(lon), alt


def geodetic_altitude_m(xyz: ArrayLike) -> FloatArray:
    """Ellipsoidal height (m) of ECEF points (..., 3); see `ecef_to_lla`."""
    return ecef_to_lla(xyz)[2]


def ecef_to_lla_one(x_m: float, y_m: float, z_m: float) -> tuple[float, float, float]:
    """`ecef_to_lla` of one point, in plain floats: (lat_deg, lon_deg, alt_m).

    The same Bowring start and two refinements; numpy's per-call overhead on one point
    made the array form most of the cost of checking and recording a track report.
    """
    lon = math.atan2(y_m, x_m)
    p = math.hypot(x_m, y_m)
    beta = math.atan2(z_m * A_M, p * B_M)
    lat = math.atan2(z_m + EP2 * B_M * math.sin(beta) ** 3, p - E2 * A_M * math.cos(beta) ** 3)
    for _ in range(2):
        beta = math.atan2((1.0 - F) * math.sin(lat), math.cos(lat))
        lat = math.atan2(z_m + EP2 * B_M * math.sin(beta) ** 3, p - E2 * A_M * math.cos(beta) ** 3)
    sin_lat = math.sin(lat)
    n = A_M / math.sqrt(1.0 - E2 * sin_lat**2)
    alt = p * math.cos(lat) + z_m * sin_lat - A_M**2 / n
    return math.degrees(lat), math.degrees(lon), alt


def enu_rotation(lat_deg: float, lon_deg: float) -> FloatArray:
    """Rotation matrix (3, 3) from ECEF to local East-North-Up; rows are E, N, U unit vectors.

    Geodetic normal of WGS-84 (Up); ``enu = R @ (ecef - origin)``.
    """
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ],
        dtype=np.float64,
    )


def surface_distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Great-circle distance (m) on a sphere of the IUGG mean radius 6371008.8 m.

    Haversine formula. Differs from the WGS-84 geodesic by up to ~0.5 %; adequate for
    ranges of warning products, not for survey work.
    """
    p1 = np.radians(np.asarray(lat1_deg, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2_deg, dtype=np.float64))
    dl = np.radians(np.asarray(lon2_deg, dtype=np.float64) - np.asarray(lon1_deg, dtype=np.float64))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return np.asarray(2.0 * MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def surface_distance_one_m(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float
) -> float:
    """`surface_distance_m` of one pair of points, in plain floats (m).

    The same haversine on the same sphere; numpy's per-call overhead on scalars made the
    array form most of the cost of matching impact predictions and launch reports.
    """
    p1, p2 = math.radians(lat1_deg), math.radians(lat2_deg)
    dl = math.radians(lon2_deg - lon1_deg)
    h = math.sin((p2 - p1) / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2.0) ** 2
    return 2.0 * MEAN_RADIUS_M * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


def initial_azimuth_deg(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north [0, 360).

    Spherical model, same sphere as `surface_distance_m`.
    """
    p1 = np.radians(np.asarray(lat1_deg, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2_deg, dtype=np.float64))
    dl = np.radians(np.asarray(lon2_deg, dtype=np.float64) - np.asarray(lon1_deg, dtype=np.float64))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.asarray(np.degrees(np.arctan2(y, x)) % 360.0)


def destination(
    lat_deg: ArrayLike, lon_deg: ArrayLike, azimuth_deg: ArrayLike, distance_m: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Point reached from (lat, lon) along a great circle with initial azimuth and distance.

    Spherical model, same sphere as `surface_distance_m`. Returns (lat_deg, lon_deg) with
    longitude in [-180, 180).
    """
    p1 = np.radians(np.asarray(lat_deg, dtype=np.float64))
    l1 = np.radians(np.asarray(lon_deg, dtype=np.float64))
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    d = np.asarray(distance_m, dtype=np.float64) / MEAN_RADIUS_M
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(az))
    l2 = l1 + np.arctan2(np.sin(az) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    lon2 = (np.degrees(l2) + 180.0) % 360.0 - 180.0
    return np.asarray(np.degrees(p2)), np.asarray(lon2)
