"""The 95 % error ellipse on the ground: its scale, its outline, and a point's distance.

Model: a 2-D Gaussian on the local tangent plane (east, north) at the ellipse's centre,
whose 95 % contour is the ellipse. For two degrees of freedom the squared Mahalanobis
distance is chi-square with 2 degrees of freedom, whose 95 % point is
chi2_2(0.95) = -2 ln 0.05 = 5.991; the 95 % semi-axes are the 1-sigma ones times
sqrt(5.991) = 2.4477 (`ELLIPSE_95_SCALE`). Every part of warnlink that turns a
covariance into a 95 % ellipse, or an ellipse back into sigmas, takes the scale from here.

The outline is drawn on the tangent plane and each plane point is taken to the WGS-84
ellipsoid along the local vertical (ENU -> ECEF -> geodetic), as
`estimation.impact.ImpactPrediction.contains` does; `ellipse_distance2` is the inverse
reading (a ground point's ECEF offset from the centre, on the tangent plane). Ground
floor: imports numpy, the model's `Ellipse` and `geo.wgs84` only.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from warnlink.geo.wgs84 import FloatArray, ecef_to_lla, enu_rotation, lla_to_ecef
from warnlink.model.payloads import Ellipse

CHI2_2_95: Final = -2.0 * math.log(0.05)
"""chi-square 95 % point for 2 degrees of freedom (5.991): squared Mahalanobis radius."""
ELLIPSE_95_SCALE: Final = math.sqrt(CHI2_2_95)
"""sqrt(chi2_2(0.95)) = 2.4477: a 95 % ellipse's semi-axes over the 1-sigma ones."""
RING_POINTS: Final = 36
"""Points on an outline (before the closing one): every 10 degrees of the parameter."""

LatLon = tuple[float, float]
#: A closed outline of (lat_deg, lon_deg) points, the first one repeated last.
Ring = tuple[LatLon, ...]


def axes(orientation_deg: float) -> tuple[FloatArray, FloatArray]:
    """Unit (east, north) vectors of the major and minor axes.

    Args:
        orientation_deg: bearing of the major axis, degrees clockwise from true north.
    """
    bearing = math.radians(orientation_deg)
    major = np.array([math.sin(bearing), math.cos(bearing)])
    minor = np.array([math.cos(bearing), -math.sin(bearing)])
    return major, minor


def plane_to_lat_lon(
    lat_deg: float, lon_deg: float, east_m: FloatArray, north_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points given on the tangent plane at (lat, lon) as WGS-84 latitude/longitude, degrees."""
    rotation = enu_rotation(lat_deg, lon_deg)
    offsets = np.stack([east_m, north_m, np.zeros_like(east_m)], axis=-1)
    ecef = lla_to_ecef(lat_deg, lon_deg, 0.0) + offsets @ rotation
    lat, lon, _ = ecef_to_lla(ecef)
    return lat, lon


def ellipse_ring(
    lat_deg: float,
    lon_deg: float,
    ellipse: Ellipse,
    points: int = RING_POINTS,
    scale: float = 1.0,
) -> Ring:
    """The ellipse (times `scale`) centred at (lat, lon) as a closed ring, first point last.

    The first point is the end of the major axis on its bearing; the ring then turns
    clockwise seen from above (towards the minor axis's east-north vector).
    """
    major, minor = axes(ellipse.orientation_deg)
    angles = np.linspace(0.0, 2.0 * math.pi, points, endpoint=False)
    en = scale * np.outer(ellipse.semi_major_m * np.cos(angles), major) + scale * np.outer(
        ellipse.semi_minor_m * np.sin(angles), minor
    )
    lat, lon = plane_to_lat_lon(lat_deg, lon_deg, en[:, 0], en[:, 1])
    ring = tuple((float(a), float(b)) for a, b in zip(lat, lon, strict=True))
    return (*ring, ring[0])


def ellipse_distance2(
    lat_deg: float, lon_deg: float, centre_lat_deg: float, centre_lon_deg: float, ellipse: Ellipse
) -> float:
    """Squared normalised distance of a ground point from an ellipse's centre: 1 on its edge.

    The point's ECEF offset from the centre is taken onto the centre's East-North plane
    (WGS-84 ENU). For a 95 % ellipse of a 2-D Gaussian, `CHI2_2_95` times this is the
    squared Mahalanobis distance, chi-square with 2 degrees of freedom (mean 2) when the
    ellipse is right. A zero axis is taken as a nanometre.
    """
    rotation = enu_rotation(centre_lat_deg, centre_lon_deg)
    offset = lla_to_ecef(lat_deg, lon_deg, 0.0) - lla_to_ecef(centre_lat_deg, centre_lon_deg, 0.0)
    east, north, _ = rotation @ offset
    major, minor = axes(ellipse.orientation_deg)
    along = east * major[0] + north * major[1]
    across = east * minor[0] + north * minor[1]
    tiny = 1e-9
    return float(
        (along / max(ellipse.semi_major_m, tiny)) ** 2
        + (across / max(ellipse.semi_minor_m, tiny)) ** 2
    )
