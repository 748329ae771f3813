"""Probability that an impact falls in an area, from its 95 % error ellipse.

Model: the impact point is a 2-D Gaussian on the local tangent (east, north) plane at the
predicted point, whose 95 % contour is the reported ellipse: 1-sigma semi-axes are the
95 % semi-axes over sqrt(chi2_2(0.95)) = 2.4477 (the convention of
`estimation.impact`). Plane points are taken to the WGS-84 ellipsoid along the local
vertical (ENU -> ECEF -> geodetic), as `estimation.impact.ImpactPrediction.contains` does.

The mass over a polygon is estimated by Monte Carlo with `SAMPLES` fixed standard-normal
draws (seed `SEED`): the same prediction always gives the same figure, and the standard
error is sqrt(p (1 - p) / SAMPLES) <= 0.0036 (0.0015 at p = 0.05).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import shapely

from warnlink.geo.wgs84 import FloatArray, ecef_to_lla, enu_rotation, lla_to_ecef
from warnlink.model import Ellipse, ImpactPrediction

SAMPLES: Final = 20_000
SEED: Final = 20261124
SIGMA_PER_95: Final = math.sqrt(-2.0 * math.log(0.05))
"""sqrt(chi2_2(0.95)) = 2.4477: the 95 % ellipse's semi-axes over the 1-sigma ones."""
_STANDARD: Final = np.random.default_rng(SEED).standard_normal((SAMPLES, 2))
REACH_SIGMA: Final = float(np.hypot(_STANDARD[:, 0], _STANDARD[:, 1]).max()) * 1.01
"""Radius in sigmas (Mahalanobis) of the farthest fixed draw, with 1 % to spare."""


def plane_to_lat_lon(
    lat_deg: float, lon_deg: float, east_m: FloatArray, north_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points given on the tangent plane at (lat, lon) as WGS-84 latitude/longitude, degrees."""
    rotation = enu_rotation(lat_deg, lon_deg)
    offsets = np.stack([east_m, north_m, np.zeros_like(east_m)], axis=-1)
    ecef = lla_to_ecef(lat_deg, lon_deg, 0.0) + offsets @ rotation
    lat, lon, _ = ecef_to_lla(ecef)
    return lat, lon


def _axes(ellipse: Ellipse) -> tuple[FloatArray, FloatArray]:
    """Unit (east, north) vectors of the major and minor axes."""
    bearing = math.radians(ellipse.orientation_deg)
    major = np.array([math.sin(bearing), math.cos(bearing)])
    minor = np.array([math.cos(bearing), -math.sin(bearing)])
    return major, minor


def impact_samples(ipp: ImpactPrediction) -> tuple[FloatArray, FloatArray]:
    """The `SAMPLES` fixed draws of the impact point: (lat_deg, lon_deg) arrays."""
    major, minor = _axes(ipp.impact_aou)
    sigma_major = ipp.impact_aou.semi_major_m / SIGMA_PER_95
    sigma_minor = ipp.impact_aou.semi_minor_m / SIGMA_PER_95
    en = np.outer(_STANDARD[:, 0] * sigma_major, major) + np.outer(
        _STANDARD[:, 1] * sigma_minor, minor
    )
    return plane_to_lat_lon(ipp.impact_lat, ipp.impact_lon, en[:, 0], en[:, 1])


def probability_mass(samples: tuple[FloatArray, FloatArray], geometry: Any) -> float:
    """Fraction of the impact draws inside a lon/lat polygon (the probability, +- 0.0036)."""
    lat, lon = samples
    south, north = float(lat.min()), float(lat.max())
    west, east = float(lon.min()), float(lon.max())
    if not geometry.intersects(shapely.box(west, south, east, north)):
        return 0.0
    return float(np.count_nonzero(shapely.contains_xy(geometry, lon, lat))) / lat.size


def reach(ipp: ImpactPrediction) -> Any:
    """A lon/lat polygon holding every one of the fixed draws (the REACH_SIGMA ellipse).

    An area it does not touch gets mass 0 without drawing.
    """
    ring = ellipse_outline(
        ipp.impact_lat, ipp.impact_lon, ipp.impact_aou, scale=REACH_SIGMA / SIGMA_PER_95
    )
    return shapely.Polygon([(lon, lat) for lat, lon in ring])


def ellipse_outline(
    lat_deg: float, lon_deg: float, ellipse: Ellipse, points: int = 36, scale: float = 1.0
) -> tuple[tuple[float, float], ...]:
    """The ellipse (times `scale`) as a closed ring of (lat_deg, lon_deg), first point last."""
    major, minor = _axes(ellipse)
    angles = np.linspace(0.0, 2.0 * math.pi, points, endpoint=False)
    en = scale * np.outer(ellipse.semi_major_m * np.cos(angles), major) + scale * np.outer(
        ellipse.semi_minor_m * np.sin(angles), minor
    )
    lat, lon = plane_to_lat_lon(lat_deg, lon_deg, en[:, 0], en[:, 1])
    ring = tuple((float(a), float(b)) for a, b in zip(lat, lon, strict=True))
    return (*ring, ring[0])
